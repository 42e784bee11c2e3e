"""Work loops: continuous work beside the task queue, run by `civicdesk worker` in threads.

A work loop is a step, declared in an app's `jobs.py` with @work_loop, that does one unit of
work and says how much it did (the channels' ingest loop: one batch of stored payloads). The
worker calls it again at once while there is work, and sleeps `idle` seconds when a step did
nothing, so an idle worker costs a query every `idle` seconds and never spins. A step that
raises never stops its loop: a temporary fault (`core.transient`) is logged and backed off
from, anything else is logged with its traceback and backed off from too. The registry lives
in the kernel and imports no app (see `core.periodic`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.utils.module_loading import autodiscover_modules

from civicdesk.core.transient import is_transient

log = logging.getLogger("civicdesk.worker")

StepFunction = Callable[[], int]
# After consecutive failures: wait FIRST, doubling, at most MAX seconds.
FAILURE_BACKOFF_FIRST = 0.2
FAILURE_BACKOFF_MAX = 5.0


@dataclass(frozen=True)
class WorkLoop:
    name: str
    step: StepFunction
    idle: float


_LOOPS: dict[str, WorkLoop] = {}


def work_loop(*, name: str, idle: float = 0.2) -> Callable[[StepFunction], StepFunction]:
    """Register the decorated step as the loop `name` ("<app>.<what>"), idle `idle` seconds."""

    def register(function: StepFunction) -> StepFunction:
        _LOOPS[name] = WorkLoop(name=name, step=function, idle=idle)
        return function

    return register


def discover_loops() -> dict[str, WorkLoop]:
    """Import every installed app's `jobs` module and answer the loops they declared."""
    autodiscover_modules("jobs")
    return dict(sorted(_LOOPS.items()))


def run_loop(loop: WorkLoop, stop: threading.Event) -> None:
    """Run `loop` until `stop` is set; the step in hand always finishes first."""
    log.info("Work loop %s started", loop.name)
    failures = 0
    try:
        while not stop.is_set():
            try:
                done = loop.step()
            except Exception as exc:
                failures += 1
                if is_transient(exc):
                    log.warning("Work loop %s: temporary fault, backing off: %s", loop.name, exc)
                else:
                    log.exception("Work loop %s: step failed; backing off", loop.name)
                if not connection.is_usable():
                    connection.close()
                delay = FAILURE_BACKOFF_FIRST * 2 ** min(failures - 1, 8)
                stop.wait(min(FAILURE_BACKOFF_MAX, delay))
                continue
            failures = 0
            if not done:
                stop.wait(loop.idle)
    finally:
        connection.close()  # this thread's own connection
        log.info("Work loop %s stopped", loop.name)
