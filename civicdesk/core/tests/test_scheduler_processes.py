"""Two real scheduler processes on one database: exactly one runs the jobs; a kill hands over."""

import os
import signal
import time
from pathlib import Path

import pytest
from django.utils import timezone

from civicdesk.core.models import SchedulerLease
from civicdesk.core.tests.processes import (
    civicdesk_process,
    command_env,
    database_env_for_children,
    wait_for,
)

pytestmark = pytest.mark.django_db(transaction=True)

LEASE_SECONDS = 2.0
ARGS = ["scheduler", "--only", "core.probe", "--lease-seconds", "2", "--tick-seconds", "0.1"]


def _runs(probe: Path) -> list[tuple[int, float]]:
    if not probe.exists():
        return []
    lines = probe.read_text().splitlines()
    return [(int(pid), float(at)) for pid, at in (line.split() for line in lines if line)]


def test_one_scheduler_runs_the_jobs_and_another_takes_over_when_it_is_killed(
    tmp_path: Path,
) -> None:
    probe = tmp_path / "probe.log"
    env = command_env(
        tmp_path, CIVICDESK_SCHEDULER_PROBE_FILE=str(probe), **database_env_for_children()
    )
    with (
        civicdesk_process(ARGS, env=env, log=tmp_path / "a.log") as first,
        civicdesk_process(ARGS, env=env, log=tmp_path / "b.log") as second,
    ):
        wait_for(lambda: len(_runs(probe)) >= 3, timeout=15, what="the probe job to run")
        time.sleep(1.0)  # both have tried the lease several times by now
        runners = {pid for pid, _ in _runs(probe)}
        assert len(runners) == 1
        leader_pid = runners.pop()
        assert leader_pid in (first.pid, second.pid)
        leader, standby = (first, second) if leader_pid == first.pid else (second, first)

        os.kill(leader.pid, signal.SIGKILL)
        leader.wait(5)
        killed_at = time.time()
        takeover = wait_for(
            lambda: [at for pid, at in _runs(probe) if pid == standby.pid],
            timeout=LEASE_SECONDS + 3,
            what="the standby to take over",
        )
        assert isinstance(takeover, list)
        assert takeover[0] - killed_at <= LEASE_SECONDS + 1.0
        assert all(at <= killed_at + 0.05 for pid, at in _runs(probe) if pid == leader.pid)

        standby.send_signal(signal.SIGTERM)
        assert standby.wait(10) == 0
    lease = SchedulerLease.objects.get(name="scheduler")
    assert lease.holder.split(":")[1] == str(standby.pid)
    assert lease.expires_at <= timezone.now()  # released on its clean exit
