"""civicdesk payloads list|replay: inspect stored inbound payloads and replay failed ones."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from civicdesk.channels import selectors
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.channels.selectors import payload_summary
from civicdesk.channels.services import replay_payload
from civicdesk.core.errors import DomainError
from civicdesk.core.text_tables import text_table

COLUMNS = ("id", "channel", "provider_message_id", "status", "attempts", "received_at", "error")


def payload_row(payload: InboundPayload) -> dict[str, Any]:
    summary = payload_summary(payload)
    del summary["body"]
    summary["error"] = (str(summary["error"]).splitlines() or [""])[0]
    summary["result_reference"] = payload.result_reference or None
    return summary


class Command(BaseCommand):
    help = "Inbound payloads: list them, replay failed ones once the cause is fixed."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        listing = actions.add_parser("list", help="Newest payloads first.")
        listing.add_argument("--failed", action="store_true", help="Only failed payloads.")
        listing.add_argument(
            "--throttled",
            action="store_true",
            help="Only payloads held by the per-sender rate limit.",
        )
        listing.add_argument("--json", action="store_true", dest="as_json", help="JSON array.")
        listing.add_argument("--limit", type=int, default=50, help="How many (default 50).")
        replay = actions.add_parser("replay", help="Process payloads again.")
        replay.add_argument("ids", nargs="*", type=int, metavar="ID")
        replay.add_argument("--failed", action="store_true", help="Every failed payload.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "list":
            self._list(
                failed=options["failed"],
                throttled=options["throttled"],
                as_json=options["as_json"],
                limit=options["limit"],
            )
        else:
            self._replay(ids=options["ids"], failed=options["failed"])

    def _list(self, *, failed: bool, throttled: bool, as_json: bool, limit: int) -> None:
        status = PayloadStatus.FAILED if failed else None
        status = PayloadStatus.THROTTLED if throttled else status
        rows = [payload_row(p) for p in selectors.payloads(status=status, limit=max(limit, 1))]
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
        elif not rows:
            self.stdout.write(f"No {status} payloads." if status else "No payloads yet.")
        else:
            self.stdout.write(text_table(rows, COLUMNS))

    def _replay(self, *, ids: list[int], failed: bool) -> None:
        if failed:
            ids = [*ids, *selectors.failed_payloads().values_list("pk", flat=True)]
        if not ids:
            raise CommandError("Name the payloads to replay (IDs), or use --failed.")
        unsuccessful = 0
        for payload_id in dict.fromkeys(ids):  # once each, in the order given
            try:
                payload = replay_payload(payload_id=payload_id)
            except DomainError as exc:
                unsuccessful += 1
                self.stdout.write(f"Payload {payload_id}: not replayed: {exc.message}")
                continue
            if payload.status == PayloadStatus.PROCESSED:
                self.stdout.write(f"Payload {payload_id}: processed -> {payload.result_reference}")
            else:
                unsuccessful += 1
                error = (payload.error.splitlines() or [""])[0]
                self.stdout.write(f"Payload {payload_id}: {payload.status}: {error}")
        if unsuccessful:
            raise CommandError(f"{unsuccessful} of {len(set(ids))} payload(s) were not processed.")
