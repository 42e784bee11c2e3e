"""Real CivicDesk processes for tests: started on loopback, always stopped, never left behind."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

REPO = Path(__file__).resolve().parents[3]


def command_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `civicdesk` process on the test database (SQLite file or PostgreSQL)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CIVICDESK_", "PYTEST_")) and key != "DATABASE_URL"
    }
    env.update(PYTHONPATH=str(REPO), CIVICDESK_VAR_DIR=str(var_dir), **extra)
    return env


def database_env_for_children() -> dict[str, str]:
    """Point a child process at the database this test runs on."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"CIVICDESK_SQLITE_PATH": str(db["NAME"])}
    user = db.get("USER") or "postgres"
    return {
        "DATABASE_URL": f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}"
    }


@contextmanager
def civicdesk_process(
    args: list[str], *, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `civicdesk ARGS`, output to `log`; SIGTERM then SIGKILL it on the way out."""
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "civicdesk.cli", *args],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield process
        finally:
            stop_process(process)


def stop_process(process: subprocess.Popen[bytes], *, timeout: float = 10) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition: Callable[[], object], *, timeout: float, what: str) -> object:
    """Poll `condition` every 50 ms until it is truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}")


def pids_in_log(log: Path, pattern: str) -> list[int]:
    return [int(pid) for pid in re.findall(pattern, log.read_text(errors="replace"))]


def is_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def kill_if_alive(pids: list[int]) -> None:
    for pid in pids:
        if is_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
