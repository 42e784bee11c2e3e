"""civicdesk email poll ACCOUNT: catch up an email account's IMAP mailbox now, in batches,
with a progress bar on a terminal and a summary at the end."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from civicdesk.channels import selectors
from civicdesk.channels.contracts import PollProgress
from civicdesk.channels.services import poll_account


class Command(BaseCommand):
    help = (
        "Email accounts. `poll ACCOUNT` (its name or uuid) fetches every message waiting in "
        "its IMAP folder now, a batch at a time; each batch is stored before the server's "
        "flags are set, so stopping it (Ctrl+C) loses nothing and the next poll goes on."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        poll = actions.add_parser("poll", help="Catch up an account's IMAP mailbox now.")
        poll.add_argument("account", metavar="ACCOUNT", help="The account's name or uuid.")

    def handle(self, *args: Any, action: str, account: str, **options: Any) -> None:
        found = selectors.account_by_name_or_uuid(kind="email", value=account)
        if found is None:
            raise CommandError(f"No email account is called {account!r} (nor has that uuid).")
        if not selectors.account_is_polled(found):
            raise CommandError(
                f"The email account {found.name!r} has no IMAP server to poll (set imap_host "
                "in its settings); it receives over SMTP only."
            )
        if not found.is_active:
            raise CommandError(f"The email account {found.name!r} is inactive.")
        # The bare stream: Django's wrapper would end each of rich's redraws with a new line.
        stream: IO[str] = getattr(self.stdout, "_out", sys.stdout)
        console = Console(file=stream, highlight=False)
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar:
            task = bar.add_task(f"Polling {found.name}", total=None)

            def show(progress: PollProgress) -> None:
                if progress.waiting is not None:
                    bar.update(task, total=progress.fetched + progress.waiting)
                bar.update(task, completed=progress.fetched)
                if not console.is_terminal and progress.fetched:
                    self.stdout.write(f"{progress.fetched} fetched, {progress.waiting} waiting")

            result = poll_account(account=found, on_progress=show)
        if result.busy:
            raise CommandError(
                f"{found.name!r} is being polled already (by the scheduler or another "
                "command); try again in a few minutes."
            )
        done = result.progress
        held = done.fetched - done.stored
        self.stdout.write(
            f"{found.name}: {done.stored} new message(s) stored, {held} already held"
            + (f", {done.waiting} still waiting" if done.waiting else ", none waiting")
            + "."
        )
        if result.error:
            raise CommandError(f"The poll stopped: {result.error} (the next poll resumes here)")
