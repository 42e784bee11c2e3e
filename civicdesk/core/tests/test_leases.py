"""The scheduler lease: one holder at a time, renewed by its holder, taken over once expired."""

from datetime import UTC, datetime, timedelta

import pytest

from civicdesk.core.leases import release_lease, take_lease
from civicdesk.core.models import SchedulerLease

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 2, 9, 0, 0, 250000, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def test_a_free_lease_is_taken_and_recorded() -> None:
    assert take_lease(name="scheduler", holder="a", duration=LEASE, now=T0) is True
    lease = SchedulerLease.objects.get()
    assert (lease.name, lease.holder, lease.expires_at) == ("scheduler", "a", T0 + LEASE)


def test_a_held_lease_is_refused_to_another_and_left_unchanged() -> None:
    take_lease(name="scheduler", holder="a", duration=LEASE, now=T0)
    later = T0 + timedelta(seconds=29)
    assert take_lease(name="scheduler", holder="b", duration=LEASE, now=later) is False
    lease = SchedulerLease.objects.get()
    assert (lease.holder, lease.expires_at) == ("a", T0 + LEASE)


def test_the_holder_renews_its_lease() -> None:
    take_lease(name="scheduler", holder="a", duration=LEASE, now=T0)
    later = T0 + timedelta(seconds=10)
    assert take_lease(name="scheduler", holder="a", duration=LEASE, now=later) is True
    assert SchedulerLease.objects.get().expires_at == later + LEASE


def test_an_expired_lease_is_taken_over() -> None:
    take_lease(name="scheduler", holder="a", duration=LEASE, now=T0)
    expired = T0 + LEASE + timedelta(microseconds=1)
    assert take_lease(name="scheduler", holder="b", duration=LEASE, now=expired) is True
    assert SchedulerLease.objects.get().holder == "b"
    assert take_lease(name="scheduler", holder="a", duration=LEASE, now=expired) is False


def test_leases_of_other_names_are_independent() -> None:
    take_lease(name="scheduler", holder="a", duration=LEASE, now=T0)
    assert take_lease(name="other", holder="b", duration=LEASE, now=T0) is True
    assert SchedulerLease.objects.count() == 2


def test_releasing_lets_another_take_the_lease_at_once() -> None:
    take_lease(name="scheduler", holder="a", duration=LEASE, now=T0)
    moment = T0 + timedelta(seconds=5)
    assert release_lease(name="scheduler", holder="b", now=moment) is False
    assert SchedulerLease.objects.get().expires_at == T0 + LEASE
    assert release_lease(name="scheduler", holder="a", now=moment) is True
    assert take_lease(name="scheduler", holder="b", duration=LEASE, now=moment) is True
