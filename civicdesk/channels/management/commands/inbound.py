"""civicdesk inbound console --from ADDRESS --text TEXT: a citizen message for development.

The message goes the way a provider's webhook would: stored, then processed by the task queue
(the worker `civicdesk serve` starts, with the database task backend). Replies on console cases
are printed by that worker.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from civicdesk.channels.contracts import RawPayload
from civicdesk.channels.models import PayloadStatus
from civicdesk.channels.services import accept_inbound


class Command(BaseCommand):
    help = "Deliver an inbound message through a development channel; prints the payload id."

    def add_arguments(self, parser: ArgumentParser) -> None:
        channels = parser.add_subparsers(dest="channel", required=True, metavar="CHANNEL")
        console = channels.add_parser("console", help="The console channel.")
        console.add_argument(
            "--from", dest="sender", required=True, metavar="ADDRESS", help="Email or phone."
        )
        console.add_argument("--text", required=True, help="The message.")
        console.add_argument("--name", default="", help="The sender's name.")
        console.add_argument("--case", default="", metavar="REF", help="A case it answers.")
        console.add_argument("--id", default="", help="Message id; a repeat is ignored.")

    def handle(self, *args: Any, channel: str, **options: Any) -> None:
        message = {
            "from": options["sender"],
            "text": options["text"],
            "name": options["name"],
            "case_reference": options["case"],
            "id": options["id"],
        }
        raw = RawPayload(
            body=json.dumps({k: v for k, v in message.items() if v}).encode(),
            content_type="application/json",
        )
        acceptance = accept_inbound(channel=channel, raw=raw)
        payload = acceptance.payload
        payload.refresh_from_db()
        if acceptance.is_duplicate:
            self.stderr.write(f"Message id seen before: payload {payload.pk} ({payload.status}).")
        elif payload.status == PayloadStatus.FAILED:
            error = (payload.error.splitlines() or [""])[0]
            raise CommandError(f"Payload {payload.pk} was stored but failed: {error}")
        elif payload.status == PayloadStatus.PROCESSED:
            self.stderr.write(f"Processed: case {payload.result_reference}.")
        else:
            self.stderr.write("Queued: the task worker will process it.")
        self.stdout.write(str(payload.pk))
