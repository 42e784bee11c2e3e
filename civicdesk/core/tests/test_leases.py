"""The scheduler lease: one holder at a time, renewed by its holder, taken over once expired.

Every expiry is the database's clock (the contenders' clocks play no part), so these tests
bracket it with the test machine's clock, which the loopback database shares.
"""

import time
from datetime import UTC, datetime, timedelta

import pytest

from civicdesk.core.leases import release_lease, take_lease
from civicdesk.core.models import SchedulerLease
from civicdesk.core.periodic import PeriodicJob
from civicdesk.core.scheduler import Scheduler

pytestmark = pytest.mark.django_db

LEASE = timedelta(seconds=30)
# SQLite's clock has millisecond precision; allow for it and for the statement's own time.
SLACK = timedelta(milliseconds=2)


def _wall() -> datetime:
    return datetime.now(UTC)


def test_a_free_lease_is_taken_and_recorded_with_the_databases_clock() -> None:
    before = _wall()
    assert take_lease(name="scheduler", holder="a", duration=LEASE) is True
    after = _wall()
    lease = SchedulerLease.objects.get()
    assert (lease.name, lease.holder) == ("scheduler", "a")
    assert before + LEASE - SLACK <= lease.expires_at <= after + LEASE + SLACK


def test_a_held_lease_is_refused_to_another_and_left_unchanged() -> None:
    take_lease(name="scheduler", holder="a", duration=LEASE)
    held = SchedulerLease.objects.get()
    assert take_lease(name="scheduler", holder="b", duration=LEASE) is False
    lease = SchedulerLease.objects.get()
    assert (lease.holder, lease.expires_at) == ("a", held.expires_at)


def test_the_holder_renews_its_lease() -> None:
    take_lease(name="scheduler", holder="a", duration=LEASE)
    first = SchedulerLease.objects.get().expires_at
    time.sleep(0.02)
    before = _wall()
    assert take_lease(name="scheduler", holder="a", duration=LEASE) is True
    renewed = SchedulerLease.objects.get().expires_at
    assert renewed > first
    assert before + LEASE - SLACK <= renewed <= _wall() + LEASE + SLACK


def test_an_expired_lease_is_taken_over() -> None:
    take_lease(name="scheduler", holder="a", duration=LEASE)
    SchedulerLease.objects.update(expires_at=_wall() - timedelta(milliseconds=10))
    assert take_lease(name="scheduler", holder="b", duration=LEASE) is True
    assert SchedulerLease.objects.get().holder == "b"
    assert take_lease(name="scheduler", holder="a", duration=LEASE) is False
    assert SchedulerLease.objects.get().holder == "b"


def test_a_lease_expiring_in_a_moment_is_still_refused() -> None:
    # Short of its expiry by the database's clock: live, whatever a contender's clock reads.
    take_lease(name="scheduler", holder="a", duration=LEASE)
    SchedulerLease.objects.update(expires_at=_wall() + timedelta(seconds=5))
    held = SchedulerLease.objects.get()
    assert take_lease(name="scheduler", holder="b", duration=LEASE) is False
    assert SchedulerLease.objects.get().expires_at == held.expires_at


def test_leases_of_other_names_are_independent() -> None:
    take_lease(name="scheduler", holder="a", duration=LEASE)
    assert take_lease(name="other", holder="b", duration=LEASE) is True
    assert SchedulerLease.objects.count() == 2


def test_releasing_lets_another_take_the_lease_at_once() -> None:
    take_lease(name="scheduler", holder="a", duration=LEASE)
    held = SchedulerLease.objects.get().expires_at
    assert release_lease(name="scheduler", holder="b") is False
    assert SchedulerLease.objects.get().expires_at == held
    before = _wall()
    assert release_lease(name="scheduler", holder="a") is True
    released = SchedulerLease.objects.get().expires_at
    assert before - SLACK <= released <= _wall() + SLACK
    assert take_lease(name="scheduler", holder="b", duration=LEASE) is True


@pytest.mark.django_db(transaction=True)
def test_a_scheduler_whose_clock_runs_fast_cannot_take_over_a_live_lease() -> None:
    # A holds a 30 s lease it renews every 10 s; B's clock is 25 s fast. At real time T+6,
    # B reads T+31: by B's clock A's lease has expired, by the shared database's it has not.
    runs: list[str] = []
    job = PeriodicJob("test.count", timedelta(hours=1), lambda: runs.append("ran"))
    leader = Scheduler(jobs={job.name: job}, lease_seconds=30, holder="A")
    fast = Scheduler(
        jobs={job.name: job},
        lease_seconds=30,
        holder="B",
        clock=lambda: _wall() + timedelta(seconds=25),
    )
    leader.tick()
    SchedulerLease.objects.update(expires_at=_wall() + timedelta(seconds=24))  # T+6
    fast.tick()
    assert (leader.is_leader, fast.is_leader) == (True, False)
    assert SchedulerLease.objects.get().holder == "A"
    leader.shut_down(grace_seconds=2)
    fast.shut_down(grace_seconds=2)
