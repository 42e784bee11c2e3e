"""civicdesk token create --user EMAIL [--name NAME]: issue an API token for a member of staff."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from civicdesk.accounts.services import create_api_token
from civicdesk.core.errors import NotFound


class Command(BaseCommand):
    help = "Manage API tokens. `token create` prints the new token, and only it, on stdout."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser("create", help="Issue a token; it is shown only this once.")
        create.add_argument("--user", required=True, metavar="EMAIL", help="Staff user's email.")
        create.add_argument("--name", default="cli", help="What the token is for (default: cli).")

    def handle(self, *args: Any, action: str, user: str, name: str, **options: Any) -> None:
        try:
            issued = create_api_token(email=user, name=name)
        except NotFound as exc:
            raise CommandError(
                f"{exc.message}. Create the user first, or check the address."
            ) from None
        self.stdout.write(issued.key)
