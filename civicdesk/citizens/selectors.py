from __future__ import annotations

from django.db.models import QuerySet

from civicdesk.citizens.models import Citizen, ContactPoint


def contact_points_of(*, citizen_id: int) -> QuerySet[ContactPoint]:
    return ContactPoint.objects.filter(citizen_id=citizen_id).order_by("kind", "value")


def citizen_by_id(*, citizen_id: int) -> Citizen | None:
    return Citizen.objects.filter(pk=citizen_id).first()


def first_contact_value(*, citizen_id: int, kind: str) -> str | None:
    point = ContactPoint.objects.filter(citizen_id=citizen_id, kind=kind).order_by("id").first()
    return point.value if point else None
