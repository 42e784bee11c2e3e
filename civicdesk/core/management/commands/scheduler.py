"""civicdesk scheduler: run the periodic jobs; one active at a time, elected by a database lease."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from civicdesk.core.periodic import discover_jobs
from civicdesk.core.scheduler import Scheduler
from civicdesk.core.supervision import exit_with_supervisor, stop_on_signals


class Command(BaseCommand):
    help = (
        "Run the periodic jobs declared in each app's jobs.py. Start as many as wanted: the one "
        "holding the database lease runs the jobs, the others take over when it dies."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--lease-seconds",
            type=float,
            default=settings.CIVICDESK_SCHEDULER_LEASE_SECONDS,
            help="How long a dead scheduler keeps the others waiting (default: %(default)s).",
        )
        parser.add_argument(
            "--tick-seconds", type=float, default=1.0, help="How often due jobs are looked for."
        )
        parser.add_argument(
            "--only", action="append", default=[], metavar="JOB", help="Run only this job."
        )
        parser.add_argument(
            "--list", dest="list_jobs", action="store_true", help="List the jobs and exit."
        )

    def handle(
        self,
        *args: Any,
        lease_seconds: float,
        tick_seconds: float,
        only: list[str],
        list_jobs: bool,
        **options: Any,
    ) -> None:
        jobs = discover_jobs()
        if list_jobs:
            for job in jobs.values():
                self.stdout.write(f"{job.name}\tevery {job.every}")
            return
        unknown = sorted(set(only) - set(jobs))
        if unknown:
            raise CommandError(f"No periodic job named: {', '.join(unknown)}")
        if only:
            jobs = {name: job for name, job in jobs.items() if name in only}
        if lease_seconds <= 0 or tick_seconds <= 0:
            raise CommandError("--lease-seconds and --tick-seconds must be positive.")
        exit_with_supervisor()
        stop = stop_on_signals()
        Scheduler(jobs=jobs, lease_seconds=lease_seconds, tick_seconds=tick_seconds).run(stop)
