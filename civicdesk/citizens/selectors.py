from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q, QuerySet

from civicdesk.citizens.kernels.contact_points import normalise
from civicdesk.citizens.models import ContactPoint

if TYPE_CHECKING:
    from civicdesk.citizens.services import ContactInput


def contact_points_of(*, citizen_id: int) -> QuerySet[ContactPoint]:
    return ContactPoint.objects.filter(citizen_id=citizen_id).order_by("kind", "value")


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
