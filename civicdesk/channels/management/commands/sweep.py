"""Set going again inbound payloads and deliveries that were left behind."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from civicdesk.channels.services import sweep


class Command(BaseCommand):
    help = (
        "Enqueue payloads and deliveries that were never picked up or were abandoned by a "
        "worker, and try deliveries whose retry is due. The scheduler runs this every minute."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = sweep()
        self.stdout.write(
            f"payloads enqueued: {report.payloads_enqueued}; "
            f"deliveries enqueued: {report.deliveries_enqueued}; "
            f"deliveries tried: {report.deliveries_tried}"
        )
