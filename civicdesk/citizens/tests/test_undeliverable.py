"""Contact points marked undeliverable (a hard bounce) and cleared again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from civicdesk.citizens.models import Citizen, ContactPoint
from civicdesk.citizens.selectors import reachable_contact_points_of
from civicdesk.citizens.services import (
    ContactInput,
    clear_contact_point_undeliverable,
    clear_undeliverable,
    mark_contact_point_undeliverable,
)

pytestmark = pytest.mark.django_db

T1 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def ann() -> Citizen:
    citizen = Citizen.objects.create(full_name="Ann")
    ContactPoint.objects.create(citizen=citizen, kind="email", value="ann@example.org")
    ContactPoint.objects.create(citizen=citizen, kind="phone", value="+40721234567")
    return citizen


def test_marking_keeps_the_first_time_and_the_latest_reason(ann: Citizen) -> None:
    assert (
        mark_contact_point_undeliverable(
            kind="email", value="Ann@Example.org", reason="550 user unknown", at=T1
        )
        == 1
    )
    mark_contact_point_undeliverable(kind="email", value="ann@example.org", reason="5.1.1", at=T2)
    point = ContactPoint.objects.get(kind="email")
    assert (point.undeliverable_at, point.undeliverable_reason) == (T1, "5.1.1")
    assert [p.kind for p in reachable_contact_points_of(citizen_id=ann.pk)] == ["phone"]


def test_an_address_nobody_has_or_cannot_be_marks_nothing(ann: Citizen) -> None:
    assert (
        mark_contact_point_undeliverable(kind="email", value="x@y.example", reason="", at=T1) == 0
    )
    assert (
        mark_contact_point_undeliverable(kind="email", value="not an address", reason="", at=T1)
        == 0
    )
    assert not ContactPoint.objects.filter(undeliverable_at__isnull=False).exists()


def test_a_message_from_the_address_clears_it_and_only_it(ann: Citizen) -> None:
    mark_contact_point_undeliverable(kind="email", value="ann@example.org", reason="r", at=T1)
    mark_contact_point_undeliverable(kind="phone", value="+40721234567", reason="r", at=T1)
    cleared = clear_undeliverable(
        contacts=[ContactInput(kind="email", value="ANN@example.org"), ContactInput("email", "?")]
    )
    assert cleared == 1
    assert [p.kind for p in reachable_contact_points_of(citizen_id=ann.pk)] == ["email"]
    assert clear_undeliverable(contacts=[]) == 0


def test_staff_clear_only_a_marked_point_of_the_citizen(ann: Citizen) -> None:
    point = ContactPoint.objects.get(kind="email")
    other = Citizen.objects.create(full_name="Bo")
    assert clear_contact_point_undeliverable(citizen=ann, contact_point_id=point.pk) is None
    mark_contact_point_undeliverable(kind="email", value="ann@example.org", reason="r", at=T1)
    assert clear_contact_point_undeliverable(citizen=other, contact_point_id=point.pk) is None
    assert clear_contact_point_undeliverable(citizen=ann, contact_point_id=point.pk) == (
        "email",
        "ann@example.org",
    )
    point.refresh_from_db()
    assert (point.undeliverable_at, point.undeliverable_reason) == (None, "")
