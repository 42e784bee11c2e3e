"""Serve CivicDesk: the ASGI server for pages, API and sockets, and a task worker beside it."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve CivicDesk on HOST:PORT with a background task worker (embedded default)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="Do not start a task worker.")

    def handle(self, *args: Any, host: str, port: int, no_worker: bool, **options: Any) -> None:
        import uvicorn

        call_command("collectstatic", interactive=False, verbosity=0)
        worker: subprocess.Popen[bytes] | None = None
        stop = threading.Event()
        if settings.TASK_BACKEND == "database" and not no_worker:
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "civicdesk.cli",
                    "db_worker",
                    "--queue-name",
                    "*",
                    "--interval",
                    "0.5",
                    "--no-reload",
                    "--verbosity",
                    "0",
                ],
            )
            self.stdout.write(f"Task worker started (pid {worker.pid}).")
        sweeper = threading.Thread(target=_sweep_every_minute, args=(stop,), daemon=True)
        sweeper.start()
        self.stdout.write(f"CivicDesk is serving on http://{host}:{port}/ (Ctrl+C to stop)")
        try:
            uvicorn.run(
                "config.asgi:application",
                host=host,
                port=port,
                log_level="warning",
                lifespan="off",
                ws="websockets-sansio",
            )
        finally:
            stop.set()
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()


def _sweep_every_minute(stop: threading.Event) -> None:
    """Run `civicdesk sweep` every minute while the server runs (see channels.services.sweep)."""
    from django.db import close_old_connections

    log = logging.getLogger("civicdesk.serve")
    while not stop.wait(60):
        try:
            call_command("sweep", verbosity=0, stdout=_Discard())
        except Exception:
            log.exception("The sweep failed; it runs again in a minute")
        finally:
            close_old_connections()


class _Discard:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return
