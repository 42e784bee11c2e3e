"""civicdesk worker: run the task worker of the configured backend and the apps' work loops
(the channels' ingest loop, see core.loops) until SIGTERM."""

from __future__ import annotations

import logging
import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from civicdesk.core.database_check import check_database_settings
from civicdesk.core.loops import discover_loops, run_loop
from civicdesk.core.supervision import exit_with_supervisor
from civicdesk.core.workers import run_database_worker

log = logging.getLogger("civicdesk.worker")


class Command(BaseCommand):
    help = (
        "Run background tasks: the database worker for every queue (CIVICDESK_TASK_BACKEND="
        "database) or an RQ worker for the configured queues (rq). SIGTERM finishes the "
        "current task, then exits. Beside it, in threads, the apps' work loops (the ingest "
        "loop taking stored payloads in batches); SIGTERM lets each finish the batch in hand."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=0.5,
            help="Database backend: seconds between looks at an empty queue.",
        )
        parser.add_argument(
            "--no-loops",
            action="store_true",
            help="Run only the task worker, not the work loops (another worker runs them).",
        )

    def handle(
        self, *args: Any, interval: float, verbosity: int, no_loops: bool, **options: Any
    ) -> None:
        backend = settings.TASK_BACKEND
        if backend == "immediate":
            raise CommandError(
                "CIVICDESK_TASK_BACKEND=immediate runs tasks in the caller: no worker is needed."
            )
        exit_with_supervisor()
        check_database_settings()
        stop = threading.Event()
        loops = [] if no_loops else list(discover_loops().values())
        threads = [
            threading.Thread(target=run_loop, args=(loop, stop), name=f"loop {loop.name}")
            for loop in loops
        ]
        for thread in threads:
            thread.start()
        try:
            self._run_task_worker(backend, interval=interval, verbosity=verbosity)
        finally:
            # The task worker returned (SIGTERM, SIGINT): each loop finishes its step, then stops.
            stop.set()
            for thread in threads:
                thread.join()

    def _run_task_worker(self, backend: str, *, interval: float, verbosity: int) -> None:
        if backend == "database":
            log.info("Task worker started: database backend, every queue")
            # django_tasks_db's worker, kept alive through temporary database faults (it stops
            # on SIGTERM/SIGINT after the task in hand).
            run_database_worker(interval=interval, verbosity=verbosity)
            return
        queues = settings.TASKS["default"].get("QUEUES", ["default"])
        log.info("Task worker started: RQ backend, queues %s", ", ".join(queues))
        # RQ's worker stops warmly on SIGTERM (after the job in hand); django-tasks needs its
        # own job class to record results.
        call_command("rqworker", *queues, job_class="django_tasks_rq.Job", verbosity=verbosity)
