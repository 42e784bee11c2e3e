from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q, QuerySet

from civicdesk.citizens.kernels.contact_points import (
    ContactKind,
    InvalidContactPoint,
    normalise,
    normalise_phone,
)
from civicdesk.citizens.models import ContactPoint

if TYPE_CHECKING:
    from civicdesk.citizens.services import ContactInput

# What a typed phone number may hold: digits and the usual separators. Anything else (letters
# of a reference or a street) is not read as a phone, so keypad letters never become digits.
_PHONE_TYPED = re.compile(r"^[\d\s+\-().]+$")
_PHONE_MIN_DIGITS = 6


def contact_points_of(*, citizen_id: int) -> QuerySet[ContactPoint]:
    return ContactPoint.objects.filter(citizen_id=citizen_id).order_by("kind", "value")


def reachable_contact_points_of(*, citizen_id: int) -> QuerySet[ContactPoint]:
    """The citizen's points that messages may take: those not marked undeliverable."""
    return contact_points_of(citizen_id=citizen_id).filter(undeliverable_at__isnull=True)


def citizen_has_contact_point(*, citizen_id: int, contacts: Sequence[ContactInput]) -> bool:
    """Whether any of these (raw, as received) contact points already belongs to the citizen."""
    pairs = []
    for contact in contacts:
        try:
            pairs.append(
                (
                    contact.kind,
                    normalise(
                        contact.kind,
                        contact.value,
                        default_region=settings.CIVICDESK_DEFAULT_REGION,
                    ),
                )
            )
        except ValueError:
            continue  # an unreadable point matches nobody
    query = Q()
    for kind, value in pairs:
        query |= Q(kind=kind, value=value)
    return bool(pairs) and ContactPoint.objects.filter(query, citizen_id=citizen_id).exists()


def first_contact_value(*, citizen_id: int, kind: str) -> str | None:
    point = ContactPoint.objects.filter(citizen_id=citizen_id, kind=kind).order_by("id").first()
    return point.value if point else None


def citizen_ids_matching(query: str) -> QuerySet[ContactPoint, int]:
    """Ids of citizens with a contact point the search `query` names, as a lazy subquery.

    An email is matched case-insensitively (stored points are lower-case), in part too when the
    query holds an @ ("sam@", "@mail.example"); a phone number is read the way stored points were
    normalised (default region `CIVICDESK_DEFAULT_REGION`, any spacing, dashes, national or
    E.164) and matched exactly on phone and WhatsApp points. Normalising costs no query; used in
    `citizen_id__in=` the result adds no query either. Nothing recognisable: an empty queryset.
    """
    term = query.strip()
    match = Q()
    if "@" in term:
        match |= Q(kind=ContactKind.EMAIL, value__contains=term.lower())
    if _PHONE_TYPED.match(term) and sum(c.isdigit() for c in term) >= _PHONE_MIN_DIGITS:
        try:
            phone = normalise_phone(term, default_region=settings.CIVICDESK_DEFAULT_REGION)
        except InvalidContactPoint:
            pass
        else:
            match |= Q(kind__in=[ContactKind.PHONE, ContactKind.WHATSAPP], value=phone)
    if not match:
        return ContactPoint.objects.none().values_list("citizen_id", flat=True)
    return ContactPoint.objects.filter(match).values_list("citizen_id", flat=True)


def citizen_by_contact(*, kind: str, value: str) -> tuple[int, str] | None:
    """The citizen one exact contact point (as typed: normalised here) belongs to, and the
    point as stored; None when it is nobody's (or unreadable)."""
    try:
        normalised = normalise(kind, value, default_region=settings.CIVICDESK_DEFAULT_REGION)
    except ValueError:
        return None
    point = ContactPoint.objects.filter(kind=kind, value=normalised).only("citizen_id").first()
    return (point.citizen_id, normalised) if point else None
