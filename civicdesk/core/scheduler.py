"""The scheduler loop: hold the lease, start each periodic job when it is due, survive faults.

Jobs run in the scheduler itself, one thread per running job (ADR 0007): a job that is still
running is never started again, a job that raises is logged and tried at its next due time,
and a database that is briefly unavailable or locked only delays the next renewal. Only the
holder of the `scheduler` lease (core.leases) starts jobs; the others stand by and take the
lease over once it expires.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from django.db import DatabaseError, connections

from civicdesk.core.clock import now as wall_clock
from civicdesk.core.leases import release_lease, take_lease
from civicdesk.core.periodic import PeriodicJob

log = logging.getLogger("civicdesk.scheduler")

LEASE_NAME = "scheduler"


def scheduler_holder_id() -> str:
    """A name unique to this process, readable in the lease row: host, pid and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    """One scheduler process's state. `run(stop)` loops until `stop` is set.

    The lease is renewed every third of its duration; jobs are started only while the lease is
    known to be ours (until the expiry we last wrote), so a scheduler cut off from the database
    stops starting jobs before anyone else may take over.
    """

    def __init__(
        self,
        *,
        jobs: Mapping[str, PeriodicJob],
        lease_seconds: float,
        tick_seconds: float = 1.0,
        holder: str | None = None,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.jobs = dict(jobs)
        self.lease = timedelta(seconds=lease_seconds)
        self.tick_seconds = tick_seconds
        self.holder = holder or scheduler_holder_id()
        self.clock = clock
        self._held_until: datetime | None = None
        self._next_renewal = 0.0
        self._due = dict.fromkeys(self.jobs, 0.0)
        self._running: dict[str, threading.Thread] = {}
        self._state = ""

    @property
    def is_leader(self) -> bool:
        return self._held_until is not None and self.clock() < self._held_until

    def run(self, stop: threading.Event, *, grace_seconds: float = 30.0) -> None:
        log.info(
            "Scheduler %s started with jobs: %s", self.holder, ", ".join(self.jobs) or "(none)"
        )
        try:
            while not stop.is_set():
                self.tick()
                stop.wait(self.tick_seconds)
        finally:
            self.shut_down(grace_seconds=grace_seconds)

    def tick(self) -> None:
        """Renew the lease when due, then start the jobs that are due and not running."""
        if time.monotonic() >= self._next_renewal:
            self._renew()
        if not self.is_leader:
            return
        for name, job in self.jobs.items():
            running = self._running.get(name)
            if running is not None and running.is_alive():
                continue
            started = time.monotonic()
            if started < self._due[name]:
                continue
            self._due[name] = started + job.every.total_seconds()
            thread = threading.Thread(target=_run_job, args=(job,), name=f"job {name}", daemon=True)
            self._running[name] = thread
            thread.start()

    def shut_down(self, *, grace_seconds: float) -> None:
        """Let running jobs finish (up to `grace_seconds`), then give the lease up."""
        deadline = time.monotonic() + grace_seconds
        for name, thread in self._running.items():
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("Job %s still running at exit; it is abandoned", name)
        if self._held_until is not None:
            try:
                release_lease(name=LEASE_NAME, holder=self.holder)
            except DatabaseError:
                log.warning("Could not release the scheduler lease; it expires by itself")
        self._held_until = None
        connections.close_all()
        log.info("Scheduler %s stopped", self.holder)

    def _renew(self) -> None:
        was_leader = self.is_leader
        moment = self.clock()
        try:
            held = take_lease(name=LEASE_NAME, holder=self.holder, duration=self.lease)
        except DatabaseError as error:
            # Unknown: keep what we knew; the expiry we wrote still bounds our leadership.
            log.warning("Scheduler lease not renewed (%s); trying again", error)
            connections.close_all()
            self._next_renewal = time.monotonic() + self.tick_seconds
            return
        self._next_renewal = time.monotonic() + self.lease.total_seconds() / 3
        self._held_until = moment + self.lease if held else None
        state = "leader" if held else "standby"
        if state != self._state:
            if held:
                log.info("Scheduler %s holds the lease and runs the jobs", self.holder)
            elif was_leader:
                log.warning("Scheduler %s lost the lease; standing by", self.holder)
            else:
                log.info("Scheduler %s stands by: another scheduler holds the lease", self.holder)
            self._state = state


def _run_job(job: PeriodicJob) -> None:
    try:
        job.run()
    except Exception:
        log.exception("Periodic job %s failed; it runs again when next due", job.name)
    finally:
        # Each job thread has its own connections; leave none open behind it.
        connections.close_all()
