"""Finding and recording citizens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from civicdesk.citizens.kernels.contact_points import InvalidContactPoint, normalise
from civicdesk.citizens.models import Citizen, ContactPoint
from civicdesk.core.errors import DomainError
from civicdesk.core.limits import NAME_MAX_LENGTH
from civicdesk.core.savepoints import atomic_within_savepoint


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
