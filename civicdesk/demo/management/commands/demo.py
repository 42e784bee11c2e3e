"""civicdesk demo [--reset]: load the fictional City of Riverton, idempotently."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from civicdesk.demo.loader import load_demo
from civicdesk.demo.organisation import DEMO_PASSWORD, FEATURED_LOGINS, STAFF_DOMAIN


class Command(BaseCommand):
    help = (
        "Load the City of Riverton demo: teams, queues, staff, service catalogue, SLA policies "
        "and ~300 historical cases. Running it again changes nothing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="Delete the demo cases and citizens first."
        )

    def handle(self, *args: Any, reset: bool, **options: Any) -> None:
        result = load_demo(reset=reset)
        if result.removed_cases:
            self.stdout.write(f"Removed {result.removed_cases} demo cases.")
        if result.created_cases:
            self.stdout.write(
                f"Loaded the City of Riverton: {result.services} services, "
                f"{result.created_cases} historical cases."
            )
        else:
            self.stdout.write("The City of Riverton demo is already loaded; nothing to add.")
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
        width = max(len(who) for who, _ in FEATURED_LOGINS)
        for who, member in FEATURED_LOGINS:
            self.stdout.write(f"  {who:<{width}}  {member.address}")
        self.stdout.write(f"Every other agent logs in as first.last@{STAFF_DOMAIN}.")
        # No address here: `civicdesk serve` prints the one it really listens on.
        self.stdout.write(
            "\nStart it with: civicdesk serve\n"
            "then open, on the address it prints: / (portal), /workspace/, /admin/, /api/v1/docs"
        )
