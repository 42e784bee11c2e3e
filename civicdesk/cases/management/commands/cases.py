"""civicdesk cases list [--json] [--limit N]: the newest cases."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from civicdesk.cases.selectors import case_row, recent_cases
from civicdesk.core.text_tables import text_table

COLUMNS = ("reference", "status", "channel", "service", "queue", "assignee", "created_at")


class Command(BaseCommand):
    help = "Inspect cases from the command line. Times are UTC."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        listing = actions.add_parser("list", help="The newest cases, newest first.")
        listing.add_argument(
            "--json", action="store_true", dest="as_json", help="A JSON array, for scripts."
        )
        listing.add_argument("--limit", type=int, default=20, help="How many (default 20).")

    def handle(self, *args: Any, action: str, as_json: bool, limit: int, **options: Any) -> None:
        rows = [case_row(case) for case in recent_cases(limit=max(limit, 1))]
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
        elif not rows:
            self.stdout.write("No cases yet.")
        else:
            self.stdout.write(text_table(rows, COLUMNS))
