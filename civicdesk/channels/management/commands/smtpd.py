"""civicdesk smtpd: receive citizens' mail over SMTP for the email channel accounts."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from civicdesk.channels.listening import start_listener
from civicdesk.core.supervision import exit_with_supervisor, stop_on_signals


class Command(BaseCommand):
    help = (
        "Receive mail over SMTP on HOST:PORT for the addresses of the active email accounts; "
        "each message is stored before it is accepted (a storage fault answers 451, so the "
        "sending server tries again)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=settings.CIVICDESK_SMTPD_HOST)
        parser.add_argument("--port", type=int, default=settings.CIVICDESK_SMTPD_PORT)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        exit_with_supervisor()
        stop = stop_on_signals()
        listener = start_listener(kind="email", host=host, port=port)
        self.stdout.write(f"Receiving mail on smtp://{host}:{port}/ (Ctrl+C to stop)")
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            listener.stop()
