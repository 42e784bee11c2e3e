"""Worker loops that survive temporary database faults.

The database task worker (django_tasks_db's `db_worker`) dies on the first temporary fault it
meets outside a task: it opens each poll with `BEGIN EXCLUSIVE` on SQLite outside its own error
handling, so another process holding the write lock past the busy time-out ends it with
"database is locked"; on PostgreSQL a connection the server ended (a restart, a failover,
pg_terminate_backend) raises "terminating connection due to administrator command" from the
poll's SELECT ... FOR UPDATE, which it re-raises; and a task whose result cannot be recorded
(the same faults, during `set_failed`) escapes its loop too. Each time the process exits and the
queue stops until something restarts it.

`survive_temporary_faults` runs such a loop and, on a temporary fault (core.transient), logs
it, closes the broken connections, waits (doubling, capped) and runs the loop again; any other
error still ends the process, for the supervisor to restart and a person to read. The
supervisor in `civicdesk serve` (core.supervision) remains the last line: it restarts a worker
that dies anyway (killed, out of memory).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, connections
from django.utils.crypto import get_random_string
from django_tasks.base import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from civicdesk.core.clock import now
from civicdesk.core.transient import is_transient, retry_transient

log = logging.getLogger("civicdesk.worker")


def survive_temporary_faults(
    loop: Callable[[], object],
    *,
    keep_going: Callable[[], bool],
    what: str,
    first_delay: float = 0.5,
    max_delay: float = 10.0,
    stable_after: float = 60.0,
    after_fault: Callable[[BaseException], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run `loop` until it returns or `keep_going()` is False; answer how many temporary faults
    it came through.

    After a fault: every connection of this thread is closed (a new one is opened on the next
    query), `after_fault` is called once the wait is over (to tidy up what the fault left
    half-done), then the loop starts again. The wait doubles with each fault in a row, from
    `first_delay` to `max_delay`; a loop that ran `stable_after` seconds counts as healthy again.
    """
    faults = 0
    in_a_row = 0
    while keep_going():
        started = time.monotonic()
        try:
            loop()
            return faults
        except Exception as exc:
            if not is_transient(exc):
                raise
            faults += 1
            in_a_row = 1 if time.monotonic() - started >= stable_after else in_a_row + 1
            delay = min(max_delay, first_delay * 2 ** (in_a_row - 1))
            log.warning(
                "%s: temporary database fault (%s: %s); going on in %.1f s",
                what,
                type(exc).__name__,
                exc,
                delay,
                exc_info=True,
            )
            _close_connections()
            sleep(delay)
            if after_fault is not None:
                after_fault(exc)
    return faults


def _close_connections() -> None:
    for alias in connections:
        with contextlib.suppress(DatabaseError):
            connections[alias].close()


class ResilientDatabaseWorker(Worker):
    """django_tasks_db's worker, remembering the task whose result a fault kept it from
    recording, so that the task is marked failed (with the fault) once the database is back
    instead of staying "running" for ever. The work itself is not lost: the channel sweep sets
    going again whatever such a task left undone."""

    unrecorded: DBTaskResult[Any, Any] | None = None

    def run_task(self, db_task_result: DBTaskResult[Any, Any]) -> None:
        self.unrecorded = db_task_result
        super().run_task(db_task_result)  # records success or failure itself, or raises
        self.unrecorded = None

    def record_unrecorded(self, fault: BaseException) -> None:
        task_result = self.unrecorded
        self.unrecorded = None
        if task_result is None:
            return

        def mark_failed() -> None:
            DBTaskResult.objects.filter(pk=task_result.pk, status=TaskResultStatus.RUNNING).update(
                status=TaskResultStatus.FAILED,
                finished_at=now(),
                exception_class_path=f"{type(fault).__module__}.{type(fault).__qualname__}",
                traceback=f"The worker could not record this task's outcome: {fault}",
            )

        try:
            retry_transient(mark_failed, what=f"recording task {task_result.pk}")
        except DatabaseError:
            log.warning("Task %s stays marked running: the database is still away", task_result.pk)


# No task runs this long (a delivery: a few provider tries of seconds each): one still marked
# running after it was left by a worker that was killed, which nothing else would close.
ABANDONED_AFTER = timedelta(hours=1)


def close_abandoned_tasks(*, older_than: timedelta = ABANDONED_AFTER) -> int:
    """Mark failed the tasks still "running" long after they started; how many. What they
    left undone is not lost: the channel sweep sets payloads and deliveries going again."""
    moment = now()
    closed = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=moment - older_than
    ).update(
        status=TaskResultStatus.FAILED,
        finished_at=moment,
        exception_class_path="civicdesk.core.workers.AbandonedTask",
        traceback=f"Still marked running {older_than} after it started: its worker was stopped "
        "(killed, out of memory) before it could record an outcome.",
    )
    if closed:
        log.warning("%d tasks left running by a stopped worker were marked failed", closed)
    return closed


def run_database_worker(*, interval: float, verbosity: int) -> int:
    """Run the database task worker on every queue until SIGTERM/SIGINT (which finish the
    task in hand), through temporary faults. Answers the number of faults survived."""
    _configure_logging(verbosity)
    worker = ResilientDatabaseWorker(
        queue_names=["*"],
        interval=interval,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=get_random_string(32),
        excluded_queue_names=[],
    )
    worker.configure_signals()
    return survive_temporary_faults(
        worker.run,
        keep_going=lambda: worker.running,
        what="Task worker",
        after_fault=worker.record_unrecorded,
    )


def _configure_logging(verbosity: int) -> None:
    # As db_worker does: its loggers at the command's verbosity. Without a handler of their
    # own they reach the root logger, as every CivicDesk log line does.
    level = {0: logging.CRITICAL, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    for name in ("django_tasks", "django_tasks_db"):
        logging.getLogger(name).setLevel(level)
