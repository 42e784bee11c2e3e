"""civicdesk demo [--reset]: load the fictional City of Riverton, idempotently."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from civicdesk.demo.loader import load_demo
from civicdesk.demo.organisation import ADMIN, AGENTS, DEMO_PASSWORD, SUPERVISOR


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
        agents = [AGENTS[0], AGENTS[-2]]
        logins = [("admin", ADMIN), ("supervisor", SUPERVISOR)] + [
            (f"agent ({member.teams[0]})", member) for member in agents
        ]
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD})")
        for role, member in logins:
            self.stdout.write(f"  {role:<20} {member.address}")
        self.stdout.write(
            "\nPortal     http://127.0.0.1:8000/\n"
            "Workspace  http://127.0.0.1:8000/workspace/\n"
            "Admin      http://127.0.0.1:8000/admin/\n"
            "API docs   http://127.0.0.1:8000/api/v1/docs\n"
            "Start it with: civicdesk serve"
        )
