"""Serve CivicDesk on one machine: the ASGI server, and the worker and scheduler beside it."""

from __future__ import annotations

import logging
import signal
import sys
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from civicdesk.core.supervision import Child, Supervisor

log = logging.getLogger("civicdesk.serve")


class _Stopped(Exception):
    """SIGTERM arrived: leave the server and stop the children."""


class Command(BaseCommand):
    help = (
        "Serve CivicDesk on HOST:PORT, with `civicdesk worker` and `civicdesk scheduler` as "
        "child processes that are restarted when they die."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="Do not start a task worker.")
        parser.add_argument(
            "--no-scheduler", action="store_true", help="Do not start the scheduler."
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        no_worker: bool,
        no_scheduler: bool,
        **options: Any,
    ) -> None:
        import uvicorn

        call_command("collectstatic", interactive=False, verbosity=0)
        children = []
        if not no_worker and settings.TASK_BACKEND != "immediate":
            children.append(Child("worker", _command("worker", "--verbosity", "0")))
        if not no_scheduler:
            children.append(Child("scheduler", _command("scheduler")))
        supervisor = Supervisor(children)
        # uvicorn handles SIGTERM/SIGINT while it serves and raises them again once it has
        # stopped; these handlers turn that into a clean return through `finally`.
        signal.signal(signal.SIGTERM, _raise_stopped)
        signal.signal(signal.SIGINT, _raise_stopped)
        try:
            supervisor.start()
            self.stdout.write(f"CivicDesk is serving on http://{host}:{port}/ (Ctrl+C to stop)")
            self.stdout.flush()
            uvicorn.run(
                "config.asgi:application",
                host=host,
                port=port,
                log_level="warning",
                lifespan="off",
                ws="websockets-sansio",
            )
        except _Stopped:
            pass
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            supervisor.stop()
            log.info("CivicDesk stopped")


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "civicdesk.cli", *args]


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise _Stopped
