"""The supervisor leaves nothing of a child behind: not when it dies, not when it stops."""

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from civicdesk.core.supervision import Child, Supervisor

# A child that starts a process of its own (as a server starts its workers), writes that
# process's pid to a file, and waits.
PARENT = """
import subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
with open(sys.argv[1], "a") as pids:
    pids.write(f"{grandchild.pid}\\n")
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its new parent) has stopped serving.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _grandchildren(pids_file: Path) -> list[int]:
    if not pids_file.exists():
        return []
    return [int(line) for line in pids_file.read_text().split()]


def test_a_child_killed_outright_takes_its_own_processes_with_it(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    child = Child("server", [sys.executable, "-c", PARENT, str(pids_file)])
    supervisor = Supervisor([child], first_delay=0.1, poll_seconds=0.05)
    supervisor.start()
    try:
        assert _wait_for(lambda: len(_grandchildren(pids_file)) == 1)
        first_grandchild = _grandchildren(pids_file)[0]
        assert child.process is not None
        os.kill(child.process.pid, 9)  # as the kernel's OOM killer would

        assert _wait_for(lambda: len(_grandchildren(pids_file)) == 2), "not restarted"
        assert _wait_for(lambda: not _alive(first_grandchild)), "the old worker lives on"
        second_grandchild = _grandchildren(pids_file)[1]
        assert _alive(second_grandchild)
    finally:
        supervisor.stop(timeout=5)
    assert _wait_for(lambda: not _alive(second_grandchild)), "left running after stop"
