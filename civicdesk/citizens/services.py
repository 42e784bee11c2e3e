"""Finding and recording citizens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from civicdesk.citizens.kernels.contact_points import InvalidContactPoint, normalise
from civicdesk.citizens.models import Citizen, ContactPoint
from civicdesk.core.errors import DomainError
from civicdesk.core.limits import NAME_MAX_LENGTH
from civicdesk.core.savepoints import atomic_within_savepoint

UNDELIVERABLE_REASON_MAX_LENGTH = 1000


@dataclass(frozen=True)
class ContactInput:
    kind: str
    value: str


def normalised_contacts(contacts: Sequence[ContactInput]) -> list[tuple[str, str]]:
    """Canonical (kind, value) pairs, de-duplicated, in the order given. Raises DomainError."""
    pairs: list[tuple[str, str]] = []
    for contact in contacts:
        if not contact.value.strip():
            continue
        try:
            pair = (
                contact.kind,
                normalise(
                    contact.kind, contact.value, default_region=settings.CIVICDESK_DEFAULT_REGION
                ),
            )
        except (InvalidContactPoint, ValueError) as exc:
            raise DomainError(str(exc)) from exc
        if pair not in pairs:
            pairs.append(pair)
    return pairs


@atomic_within_savepoint
def identify_citizen(
    *,
    contacts: Sequence[ContactInput],
    full_name: str = "",
    language: str = "",
    channel: str = "",
) -> Citizen:
    """The citizen owning any of these contact points, or a new one.

    Contact points not yet known are added to the citizen found. When the points belong to
    several citizens the oldest match wins; merging them is a decision for staff, not for intake.
    """
    pairs = normalised_contacts(contacts)
    citizen: Citizen | None = None
    if pairs:
        query = ContactPoint.objects.none()
        for kind, value in pairs:
            query = query | ContactPoint.objects.filter(kind=kind, value=value)
        match = query.select_related("citizen").order_by("citizen__created_at", "id").first()
        citizen = match.citizen if match else None
    if citizen is None:
        citizen = Citizen.objects.create(
            full_name=full_name.strip()[:NAME_MAX_LENGTH],
            preferred_language=language or settings.LANGUAGE_CODE,
            preferred_channel=channel,
        )
    elif full_name and not citizen.full_name:
        citizen.full_name = full_name.strip()[:NAME_MAX_LENGTH]
        citizen.save(update_fields=["full_name", "updated_at"])
    _attach_contact_points(citizen=citizen, pairs=pairs)
    return citizen


@transaction.atomic
def add_contact_points(*, citizen: Citizen, contacts: Sequence[ContactInput]) -> None:
    """Record new ways to reach a citizen; points already known (to anyone) are left alone."""
    _attach_contact_points(citizen=citizen, pairs=normalised_contacts(contacts))


def _attach_contact_points(*, citizen: Citizen, pairs: list[tuple[str, str]]) -> None:
    """One INSERT for the points; those known already (to anyone, or recorded a moment ago by
    another request) are left as they are: ON CONFLICT DO NOTHING on (kind, value)."""
    if not pairs:
        return
    ContactPoint.objects.bulk_create(
        [ContactPoint(citizen=citizen, kind=kind, value=value) for kind, value in pairs],
        ignore_conflicts=True,
    )


@dataclass(frozen=True)
class Person:
    """Who wrote, for `identify_citizens`: as `identify_citizen`'s arguments."""

    contacts: Sequence[ContactInput]
    full_name: str = ""
    language: str = ""
    channel: str = ""


def identify_citizens(people: Sequence[Person]) -> list[tuple[Citizen, str]]:
    """`identify_citizen` for many people at once, in order, as if called one by one: each
    person's citizen, and how that citizen was named at that point (its name, or "Citizen #id"
    while it had none: a later person of the batch may name it).

    One query finds every known contact point; the new citizens are written in one INSERT and
    the new contact points in another; the same unknown sender twice in `people` is one new
    citizen. Raises DomainError, before writing anything, for an invalid contact point.
    """
    pairs_of = [normalised_contacts(person.contacts) for person in people]
    wanted = {pair for pairs in pairs_of for pair in pairs}
    owner: dict[tuple[str, str], Citizen] = {}
    if wanted:
        values_by_kind: dict[str, list[str]] = {}
        for kind, value in sorted(wanted):
            values_by_kind.setdefault(kind, []).append(value)
        matching = Q(pk__in=[])
        for kind, values in values_by_kind.items():
            matching |= Q(kind=kind, value__in=values)
        known = (
            ContactPoint.objects.filter(matching)
            .select_related("citizen")
            .order_by("citizen__created_at", "id")
        )
        by_pk: dict[int, Citizen] = {}  # one object per citizen, however many points it has
        for point in known:
            citizen = by_pk.setdefault(point.citizen_id, point.citizen)
            owner.setdefault((point.kind, point.value), citizen)
    rank = {id(citizen): n for n, citizen in enumerate(dict.fromkeys(owner.values()))}
    found: list[Citizen] = []
    names_then: list[str] = []
    new: list[Citizen] = []
    named: list[Citizen] = []
    for person, pairs in zip(people, pairs_of, strict=True):
        matches = [owner[pair] for pair in pairs if pair in owner]
        # The oldest match wins: those known before this call (in age order), then new ones.
        oldest = min(matches, key=lambda c: rank.get(id(c), len(rank))) if matches else None
        name = person.full_name.strip()[:NAME_MAX_LENGTH]
        if oldest is not None:
            citizen = oldest
            if name and not citizen.full_name:
                citizen.full_name = name
                if citizen.pk is not None:
                    named.append(citizen)
        else:
            citizen = Citizen(
                full_name=name,
                preferred_language=person.language or settings.LANGUAGE_CODE,
                preferred_channel=person.channel,
            )
            new.append(citizen)
        for pair in pairs:
            owner.setdefault(pair, citizen)
        found.append(citizen)
        names_then.append(citizen.full_name)
    Citizen.objects.bulk_create(new)
    for citizen in dict.fromkeys(named):
        citizen.save(update_fields=["full_name", "updated_at"])
    points = [
        ContactPoint(citizen=citizen, kind=kind, value=value)
        for citizen, pairs in zip(found, pairs_of, strict=True)
        for kind, value in pairs
    ]
    if points:
        ContactPoint.objects.bulk_create(points, ignore_conflicts=True)
    return [
        (citizen, name or str(Citizen(pk=citizen.pk)))
        for citizen, name in zip(found, names_then, strict=True)
    ]


def mark_contact_point_undeliverable(*, kind: str, value: str, reason: str, at: datetime) -> int:
    """Messages cannot reach this contact point (a hard bounce): replies skip it from now on,
    until the citizen writes from it again or staff clear it (`clear_undeliverable`). The first
    mark's time is kept, the latest reason shown. Returns how many points were marked (0 for
    an address nobody has). One UPDATE."""
    try:
        normalised = normalise(kind, value, default_region=settings.CIVICDESK_DEFAULT_REGION)
    except (InvalidContactPoint, ValueError):
        return 0
    point = ContactPoint.objects.filter(kind=kind, value=normalised)
    return point.update(
        undeliverable_at=Coalesce(F("undeliverable_at"), Value(at)),
        undeliverable_reason=reason[:UNDELIVERABLE_REASON_MAX_LENGTH],
        updated_at=at,
    )


def clear_undeliverable(*, contacts: Sequence[ContactInput]) -> int:
    """The citizen proved these points work again (a message came from them): replies may take
    them again. Unreadable points are skipped. One indexed read, and an UPDATE only when one
    of them is marked; returns how many were cleared."""
    query = Q()
    for contact in contacts:
        try:
            value = normalise(
                contact.kind, contact.value, default_region=settings.CIVICDESK_DEFAULT_REGION
            )
        except (InvalidContactPoint, ValueError):
            continue
        query |= Q(kind=contact.kind, value=value)
    if not query:
        return 0
    marked = ContactPoint.objects.filter(query, undeliverable_at__isnull=False)
    # Almost every message comes from a point nobody marked: a read answers that, without
    # the write lock an UPDATE takes even when it changes nothing (SQLite's single writer).
    if not marked.exists():
        return 0
    return marked.update(undeliverable_at=None, undeliverable_reason="")


def clear_contact_point_undeliverable(
    *, citizen: Citizen, contact_point_id: int
) -> tuple[str, str] | None:
    """Staff clear the mark on one of the citizen's points (they checked the address): its
    (kind, value), or None when it is not the citizen's or not marked (nothing changed)."""
    point = (
        ContactPoint.objects.select_for_update()
        .filter(pk=contact_point_id, citizen=citizen, undeliverable_at__isnull=False)
        .first()
    )
    if point is None:
        return None
    point.undeliverable_at = None
    point.undeliverable_reason = ""
    point.save(update_fields=["undeliverable_at", "undeliverable_reason", "updated_at"])
    return point.kind, point.value
