"""The scheduler loop in one process: failures, overlap and a database that goes away."""

import itertools
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection

from civicdesk.core.models import SchedulerLease
from civicdesk.core.periodic import PeriodicJob
from civicdesk.core.scheduler import Scheduler
from civicdesk.core.tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _scheduler(*jobs: PeriodicJob, lease_seconds: float = 30) -> Scheduler:
    return Scheduler(
        jobs={job.name: job for job in jobs}, lease_seconds=lease_seconds, tick_seconds=0.01
    )


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def test_a_failing_job_is_logged_and_run_again_at_its_next_tick(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[float] = []

    def fail() -> None:
        calls.append(time.monotonic())
        raise RuntimeError("provider down")

    scheduler = _scheduler(PeriodicJob("test.fail", timedelta(seconds=0.05), fail))
    scheduler.tick()
    wait_for(lambda: len(calls) == 1, timeout=2, what="the first run")
    scheduler.tick()  # not yet due
    time.sleep(0.06)
    scheduler.tick()
    wait_for(lambda: len(calls) == 2, timeout=2, what="the second run")
    scheduler.shut_down(grace_seconds=2)
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.05
    failures = [r for r in caplog.records if r.message.startswith("Periodic job test.fail failed")]
    assert len(failures) == 2
    assert failures[0].exc_info is not None
    assert str(failures[0].exc_info[1]) == "provider down"


def test_a_job_still_running_is_not_started_again() -> None:
    release = threading.Event()
    starts: list[int] = []

    def slow() -> None:
        starts.append(1)
        release.wait(5)

    scheduler = _scheduler(PeriodicJob("test.slow", timedelta(seconds=0.01), slow))
    for _ in range(20):
        scheduler.tick()
        time.sleep(0.01)
    assert starts == [1]
    release.set()
    scheduler.shut_down(grace_seconds=2)
    assert starts == [1]


def test_a_scheduler_without_the_lease_runs_nothing() -> None:
    runs: list[int] = []
    job = PeriodicJob("test.count", timedelta(seconds=0.01), lambda: runs.append(1))
    leader, standby = _scheduler(job), _scheduler(job)
    leader.tick()
    standby.tick()
    assert (leader.is_leader, standby.is_leader) == (True, False)
    wait_for(lambda: runs == [1], timeout=2, what="the leader's run")
    leader.shut_down(grace_seconds=2)
    standby.shut_down(grace_seconds=2)
    assert runs == [1]
    assert SchedulerLease.objects.get().holder == leader.holder


def test_the_scheduler_survives_a_database_that_is_briefly_unavailable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[int] = []
    job = PeriodicJob("test.count", timedelta(seconds=0.01), lambda: runs.append(1))
    scheduler = _scheduler(job, lease_seconds=0.3)
    scheduler.tick()
    assert scheduler.is_leader
    key = "NAME" if connection.vendor == "sqlite" else "PORT"
    working = connection.settings_dict[key]
    pool = connection.settings_dict["OPTIONS"].get("pool")
    connection.close()
    if pool:  # a new pool, on the unreachable port, that gives up at once
        connection.close_pool()  # type: ignore[attr-defined]
        connection.settings_dict["OPTIONS"]["pool"] = {**pool, "min_size": 0, "timeout": 0.05}
    connection.settings_dict[key] = "/nonexistent/civicdesk.sqlite3" if key == "NAME" else 1
    try:
        time.sleep(0.11)  # past a third of the lease: the next tick tries to renew
        scheduler.tick()
        assert scheduler.is_leader  # the expiry it wrote still stands
        time.sleep(0.3)
        scheduler.tick()
        assert not scheduler.is_leader  # unknown past its own expiry: it stops starting jobs
        count_while_down = len(runs)
    finally:
        connection.close()
        if pool:
            connection.close_pool()  # type: ignore[attr-defined]
            connection.settings_dict["OPTIONS"]["pool"] = pool
        connection.settings_dict[key] = working

    def leads_again() -> bool:
        scheduler.tick()
        return scheduler.is_leader

    wait_for(leads_again, timeout=2, what="the lease taken again")
    wait_for(lambda: len(runs) > count_while_down, timeout=2, what="a run after recovery")
    scheduler.shut_down(grace_seconds=2)
    assert any(r.message.startswith("Scheduler lease not renewed") for r in caplog.records)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's database-wide write lock")
def test_the_scheduler_carries_on_through_a_locked_sqlite_database(
    caplog: pytest.LogCaptureFixture, stop: threading.Event
) -> None:
    """Another connection holds the write lock for 2 s, past the busy timeout and the lease."""
    runs: list[float] = []
    job = PeriodicJob("test.count", timedelta(seconds=0.05), lambda: runs.append(time.time()))
    scheduler = Scheduler(jobs={job.name: job}, lease_seconds=1, tick_seconds=0.05)
    options = connection.settings_dict["OPTIONS"]
    busy_timeout = options["timeout"]
    options["timeout"] = 0.2  # read when the scheduler thread connects: fail fast, not in 20 s
    thread = threading.Thread(target=scheduler.run, args=(stop,), kwargs={"grace_seconds": 2})
    try:
        thread.start()
        wait_for(lambda: runs, timeout=5, what="the first run")
        locker = sqlite3.connect(connection.settings_dict["NAME"], timeout=5)
        try:
            locker.execute("BEGIN IMMEDIATE")
            locker.execute("UPDATE core_schedulerlease SET holder = holder")
            time.sleep(2.0)
        finally:
            locker.rollback()
            locker.close()
        released_at = time.time()
        wait_for(
            lambda: [at for at in runs if at > released_at + 0.1],
            timeout=5,
            what="a run after the lock was released",
        )
        assert thread.is_alive()
        lease = SchedulerLease.objects.get(name="scheduler")
        assert lease.holder == scheduler.holder
        assert lease.expires_at.timestamp() > released_at
    finally:
        stop.set()
        thread.join(10)
        options["timeout"] = busy_timeout
    assert not thread.is_alive()
    failures = [r.message for r in caplog.records if r.message.startswith("Scheduler lease not")]
    assert failures
    assert all("database is locked" in message for message in failures)
    # Leadership lapsed with the lease (1 s) while the lock was held (2 s): no run in between.
    gaps = [later - earlier for earlier, later in itertools.pairwise(runs)]
    assert max(gaps) >= 1.0
