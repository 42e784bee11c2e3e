"""Real CivicDesk processes for the fault tests, and the operator's hand that kills them.

Every process runs on the test database (the SQLite file, or PostgreSQL when DATABASE_URL is
set), which pytest-django has migrated and the test has seeded, so a fault test needs neither
`migrate` nor a seed command of its own and runs on both engines. Each process gets its own
process group: `kill_hard` sends SIGKILL to the whole group, as a machine or container crash
would, whatever processes the server of the day forks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from django.conf import settings

from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.core.tests.processes import command_env, database_env_for_children, wait_for

# Enough for the slowest start seen on a loaded 2-core machine (Django, collectstatic).
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of every process of a fault test: the test database, the database
    task backend, the test's secret key (so that children read the account secrets the test
    stored) and the signed test channel."""
    return command_env(
        var_dir,
        CIVICDESK_TASK_BACKEND="database",
        CIVICDESK_SECRET_KEY=settings.SECRET_KEY,
        CIVICDESK_CHANNEL_ADAPTERS="civicdesk.channels.tests.sms_acme",
        **database_env_for_children(),
        **extra,
    )


@dataclass
class Managed:
    """One long-running `civicdesk` command, restarted by hand as a process manager would."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_dir: Path
    process: subprocess.Popen[bytes] | None = None
    pids: list[int] = field(default_factory=list)
    kills: int = 0

    @property
    def log(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "civicdesk.cli", *self.args],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pids.append(self.process.pid)

    def kill_hard(self) -> None:
        """SIGKILL the process and everything it started."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.kills += 1

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def serving(url: str) -> bool:
    try:
        return httpx.get(f"{url}/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


WEB_ONLY = ("--no-worker", "--no-scheduler", "--no-smtpd")


class Platform:
    """A web server, a task worker and a scheduler on the test database, each managed."""

    def __init__(self, var_dir: Path, *, lease_seconds: int = 3) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = child_env(var_dir, CIVICDESK_DELIVERY_LEASE_SECONDS=str(lease_seconds))
        self.web = Managed(
            "web",
            ["serve", "--host", "127.0.0.1", "--port", str(self.port), *WEB_ONLY],
            env,
            var_dir,
        )
        self.worker = Managed("worker", ["worker", "--interval", "0.1"], env, var_dir)
        self.scheduler = Managed("scheduler", ["scheduler", "--tick-seconds", "0.5"], env, var_dir)

    def start(self) -> None:
        for managed in (self.web, self.worker, self.scheduler):
            managed.start()
        self.wait_until_serving()

    def wait_until_serving(self) -> None:
        wait_for(lambda: serving(self.url), timeout=START_TIMEOUT, what="the web server")

    def restart_web(self) -> None:
        self.web.kill_hard()
        self.web.start()
        self.wait_until_serving()

    def restart_worker(self) -> None:
        self.worker.kill_hard()
        self.worker.start()

    def stop(self) -> None:
        for managed in (self.web, self.worker, self.scheduler):
            managed.stop()

    def logs(self) -> str:
        return "\n".join(
            f"--- {m.name}\n{m.log.read_text(errors='replace')[-4000:]}"
            for m in (self.web, self.worker, self.scheduler)
            if m.log.exists()
        )


@contextlib.contextmanager
def platform(var_dir: Path) -> Iterator[Platform]:
    running = Platform(var_dir)
    try:
        running.start()
        yield running
    finally:
        running.stop()


UNFINISHED = (PayloadStatus.RECEIVED, PayloadStatus.PROCESSING)


def wait_for_the_queue_to_drain(*, timeout: float) -> bool:
    """Whether every stored payload left received/processing within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not InboundPayload.objects.filter(status__in=UNFINISHED).exists():
            return True
        time.sleep(0.25)
    return False


def payload_statuses() -> dict[str, int]:
    statuses: dict[str, int] = {}
    for status in InboundPayload.objects.values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    return statuses
