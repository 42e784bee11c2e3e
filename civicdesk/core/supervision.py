"""Child processes that `civicdesk serve` keeps running on one machine: servers, worker, scheduler.

A child that dies is started again after a delay that doubles with each crash in a row (capped),
and its exit code is logged; stopping sends SIGTERM and waits, then kills. Past one machine the
same commands run on their own under the platform's process manager instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger("civicdesk.serve")

SUPERVISOR_PID_VARIABLE = "CIVICDESK_SUPERVISOR_PID"
_PR_SET_PDEATHSIG = 1


def restart_delay(*, crashes_in_a_row: int, first: float = 1.0, cap: float = 30.0) -> float:
    """Seconds to wait before restarting a child that has died `crashes_in_a_row` times (>= 1)."""
    return min(cap, first * 2.0 ** (max(1, crashes_in_a_row) - 1))


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    crashes_in_a_row: int = 0
    restart_at: float | None = None
    pids: list[int] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    """Variables added to the supervisor's environment for this child."""
    die_with_supervisor: bool = False
    """Have Linux SIGTERM the child if the supervisor dies, for programs that cannot ask for it
    themselves (the servers); CivicDesk's own commands call `exit_with_supervisor()`."""


class Supervisor:
    """Start `children`, restart each when it dies, stop them all on `stop()`.

    `stable_after`: a child that ran that long before dying counts as a first crash again.
    Children run in their own process group so that Ctrl+C in a terminal reaches only the
    supervisor, which then stops them in order.
    """

    def __init__(
        self,
        children: list[Child],
        *,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
        stable_after: float = 60.0,
        poll_seconds: float = 0.2,
    ) -> None:
        self.children = children
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._started = threading.Event()
        self._timeout = 15.0
        self._lock = threading.Lock()
        self._monitor = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def start(self) -> None:
        """Start the children from the monitor thread, which alone spawns and stops them.

        Why one thread: Linux delivers a child's parent-death signal (exit_with_supervisor)
        when the *thread* that forked it exits. Were children spawned from several threads,
        a restarted child would get a second SIGTERM when its thread ended during stop(),
        and a second SIGTERM makes the database worker abandon its task and exit with 1.
        """
        self._monitor.start()
        self._started.wait()

    def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM every child, wait up to `timeout` seconds in all, then SIGKILL the rest."""
        self._timeout = timeout
        self._stop.set()
        if self._monitor.is_alive():
            self._monitor.join()

    def _stop_children(self, timeout: float) -> None:
        with self._lock:
            running = [c for c in self.children if c.process and c.process.poll() is None]
            for child in running:
                assert child.process is not None
                child.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for child in running:
                assert child.process is not None
                try:
                    child.process.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    log.warning(
                        "%s (pid %s) did not stop; killing it", child.name, child.process.pid
                    )
                    child.process.kill()
                    child.process.wait()
                _kill_leftovers(child.process.pid)
                log.info("%s stopped (exit code %s)", child.name, child.process.returncode)

    def _spawn(self, child: Child) -> None:
        env = {**os.environ, **child.env, SUPERVISOR_PID_VARIABLE: str(os.getpid())}
        child.process = subprocess.Popen(  # noqa: S603
            child.argv,
            env=env,
            process_group=0,
            preexec_fn=_term_on_parent_death if child.die_with_supervisor else None,  # noqa: PLW1509
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        child.pids.append(child.process.pid)
        log.info("%s started (pid %s)", child.name, child.process.pid)

    def _watch(self) -> None:
        try:
            for child in self.children:
                self._spawn(child)
        finally:
            self._started.set()
        try:
            while not self._stop.wait(self.poll_seconds):
                with self._lock:
                    if self._stop.is_set():
                        break
                    for child in self.children:
                        self._check(child)
        finally:
            self._stop_children(self._timeout)

    def _check(self, child: Child) -> None:
        now = time.monotonic()
        if child.restart_at is not None:
            if now >= child.restart_at:
                self._spawn(child)
            return
        assert child.process is not None
        code = child.process.poll()
        if code is None:
            return
        _kill_leftovers(child.process.pid)
        lived = now - child.started_at
        child.crashes_in_a_row = 1 if lived >= self.stable_after else child.crashes_in_a_row + 1
        delay = restart_delay(
            crashes_in_a_row=child.crashes_in_a_row, first=self.first_delay, cap=self.max_delay
        )
        child.restart_at = now + delay
        log.warning(
            "%s (pid %s) exited with code %s after %.1f s; restarting in %.1f s",
            child.name,
            child.process.pid,
            code,
            lived,
            delay,
        )


def _kill_leftovers(group: int) -> None:
    """SIGKILL what is left of a child's process group once the child itself has exited.

    A child that runs processes of its own (the WSGI server's workers, an RQ work horse)
    leaves them behind when it is killed; an orphaned server worker would go on answering on
    the port beside the restarted server. Each child leads its own group (`process_group=0`),
    and a group's id is not reused while any member lives, so this reaches only its leftovers.
    The child itself is stopped gently first (SIGTERM to it alone, so it can stop its own).
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


def _term_on_parent_death() -> None:
    """Between fork and exec: SIGTERM this child when the thread that started it dies.

    The setting survives exec, so it holds for the program the child becomes.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def exit_with_supervisor() -> None:
    """In a supervised child: ask Linux to SIGTERM us if `serve` dies without stopping us.

    Without it a `serve` killed with SIGKILL would leave its worker and scheduler running.
    A no-op off Linux or when not started by a supervisor.
    """
    expected = os.environ.get(SUPERVISOR_PID_VARIABLE)
    if not expected:
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if str(os.getppid()) != expected:  # the supervisor died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT: what a long-running command waits on to stop cleanly
    (the supervisor's stop, Ctrl+C)."""
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop
