"""Serve CivicDesk on one machine: pages and API over WSGI, sockets over ASGI, worker, scheduler.

Four supervised children, restarted when they die (core.supervision):

- `web`: granian running `config.wsgi` with a pool of threads on --port, for pages and the API
  (a bare Django view: 13 to 17 times the requests per second of the ASGI server, see
  docs/adr/0002);
- `sockets`: one uvicorn process running `config.asgi` on --socket-port, for `/ws/` only; the
  pages learn its port through CIVICDESK_SOCKET_PORT;
- `worker` and `scheduler`, as before;
- `smtpd`: the email channel's SMTP listener (`civicdesk smtpd`) on CIVICDESK_SMTPD_HOST and
  CIVICDESK_SMTPD_PORT (127.0.0.1:2525), unless --no-smtpd.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import time
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from civicdesk.core.database_check import check_database_settings
from civicdesk.core.supervision import Child, Supervisor

log = logging.getLogger("civicdesk.serve")
DEFAULT_THREADS = 32
# One web process runs Python on one core at a time (the interpreter lock); on PostgreSQL a
# second one lets the pages and the API use the second core of a small machine (past 2 the
# database and the worker need what is left). SQLite has one writer: a second process only
# adds waits for its lock (measured: fewer acknowledgements and a p99 2.7 times longer), so
# one. See docs/deployment.md and docs/performance.md.
DEFAULT_WEB_WORKERS = {"postgresql": 2, "sqlite": 1}


class _Stopped(Exception):
    """SIGTERM or SIGINT arrived: stop the children."""


class Command(BaseCommand):
    help = (
        "Serve CivicDesk on HOST:PORT (pages and API, WSGI) and HOST:SOCKET_PORT (WebSockets, "
        "ASGI), with `civicdesk worker` and `civicdesk scheduler`; every child is restarted "
        "when it dies."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--socket-port",
            type=int,
            default=None,
            help="Port of the WebSocket server (default: PORT + 1).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=DEFAULT_THREADS,
            help="Threads of the web process; more than CIVICDESK_MAX_REQUESTS_IN_FLIGHT, so "
            "that the requests over it are refused quickly with 503 rather than queued.",
        )
        parser.add_argument(
            "--web-workers",
            type=int,
            default=None,
            help="Web processes serving PORT (default: CIVICDESK_WEB_WORKERS, else 2 on "
            "PostgreSQL and 1 on SQLite); each keeps its own database pool and admission slots.",
        )
        parser.add_argument("--no-worker", action="store_true", help="Do not start a task worker.")
        parser.add_argument(
            "--no-scheduler", action="store_true", help="Do not start the scheduler."
        )
        parser.add_argument(
            "--no-smtpd",
            action="store_true",
            help="Do not start the SMTP listener that receives the email channel's mail.",
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        socket_port: int | None,
        threads: int,
        web_workers: int | None,
        no_worker: bool,
        no_scheduler: bool,
        no_smtpd: bool,
        **options: Any,
    ) -> None:
        socket_port = port + 1 if socket_port is None else socket_port
        if socket_port == port:
            raise CommandError("--socket-port must differ from --port")
        check_database_settings()
        call_command("collectstatic", interactive=False, verbosity=0)
        if web_workers is None:
            web_workers = settings.CIVICDESK_WEB_WORKERS or DEFAULT_WEB_WORKERS.get(
                connection.vendor, 1
            )
        if web_workers < 1:
            raise CommandError("--web-workers must be at least 1")
        children = server_children(
            host=host, port=port, socket_port=socket_port, threads=threads, workers=web_workers
        )
        if not no_worker and settings.TASK_BACKEND != "immediate":
            children.append(Child("worker", _command("worker", "--verbosity", "0")))
        if not no_scheduler:
            children.append(Child("scheduler", _command("scheduler")))
        if not no_smtpd:
            children.append(Child("smtpd", _command("smtpd")))
        supervisor = Supervisor(children)
        signal.signal(signal.SIGTERM, _raise_stopped)
        signal.signal(signal.SIGINT, _raise_stopped)
        try:
            supervisor.start()
            _wait_for_port(host, port)
            self.stdout.write(
                f"CivicDesk is serving on http://{host}:{port}/ (live updates on port "
                f"{socket_port}; Ctrl+C to stop)"
            )
            self.stdout.flush()
            while True:
                time.sleep(3600)
        except _Stopped:
            pass
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            supervisor.stop()
            log.info("CivicDesk stopped")


def server_children(
    *, host: str, port: int, socket_port: int, threads: int, workers: int = 1
) -> list[Child]:
    """The WSGI web process and the ASGI socket process, as supervised children."""
    socket_env = {}
    if not settings.CIVICDESK_SOCKET_URL and not settings.CIVICDESK_SOCKET_PORT:
        socket_env["CIVICDESK_SOCKET_PORT"] = str(socket_port)
    web = Child(
        "web",
        [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--no-ws",
            "--respawn-failed-workers",
            "--log-level",
            "error",
            "config.wsgi:application",
        ],
        env=socket_env,
        die_with_supervisor=True,
    )
    sockets = Child(
        "sockets",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            host,
            "--port",
            str(socket_port),
            "--lifespan",
            "off",
            "--ws",
            "websockets-sansio",
            "--log-level",
            "warning",
        ],
        env={"CIVICDESK_SERVER": "asgi"},
        die_with_supervisor=True,
    )
    return [web, sockets]


def _wait_for_port(host: str, port: int, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    log.warning("the web server is not answering on %s:%s yet", host, port)


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "civicdesk.cli", *args]


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise _Stopped
