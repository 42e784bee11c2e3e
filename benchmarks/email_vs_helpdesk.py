"""CivicDesk beside django-helpdesk on the same mailbox: messages per second, and the share of
replies threaded onto the right case (CivicDesk) or ticket (django-helpdesk).

    python benchmarks/email_vs_helpdesk.py [--threads 100] [--replies 2] [--full]
        [--civicdesk-feed auto|imap|smtp] [--database sqlite|postgres]

The corpus (`email_corpus.first_messages` / `thread_replies`) is generated, deterministically,
with its ground truth: `--threads` citizens each write a first message; then each answers the
helpdesk's acknowledgement `--replies` times, as different clients do (full headers; Outlook's
In-Reply-To only; a new subject with the headers; the headers dropped and the reference kept in
the subject; a follow-up to their own first message). A reply is threaded right when it lands
on the case (ticket) its thread's first message opened.

Each system runs in two rounds, first messages then replies, because a reply answers the
acknowledgement that system sent (its Message-ID and its subject, with its own reference):

- *django-helpdesk* (`HELPDESK_REQUIREMENT`, installed from PyPI into a virtualenv under
  `--helpdesk-dir`, kept between runs) on SQLite, a Queue importing over IMAP from a Dovecot of
  its own on loopback, with its own `manage.py get_email`, timed (process start-up included,
  and also shown without it: the time of `manage.py check`). Its acknowledgements are read from
  Django's file mail backend.
- *CivicDesk* on a fresh database, with `civicdesk worker` running: the same messages arrive
  by `--civicdesk-feed` — `imap`: APPENDed to a Dovecot of its own and fetched by `civicdesk
  email poll ACCOUNT`; `smtp`: sent by `--clients` smtplib clients to `civicdesk smtpd`;
  `auto` (the default): imap where the `email` command exists, else smtp, said in the output.
  Timed from the first message in to the last one processed. Acknowledgements are read from
  the outbox folder.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helpdesk_peer
from email_corpus import (
    HELP,
    REPLY_STYLES,
    Acknowledgement,
    Letter,
    ThreadMessage,
    acknowledgements_in,
    first_messages,
    subject_of,
    thread_replies,
)
from email_ingest import seed_account, send_all, wait_for_smtp
from harness import load_note, machine_label
from ingest_support import (
    DEFAULT_POSTGRES_URL,
    REPO,
    BenchDatabase,
    free_port,
    fresh_database,
    running_process,
    seed_catalogue,
    setup_django,
)

sys.path.insert(0, str(REPO))
from civicdesk.channels.adapters.email.tests.dovecot import (
    Dovecot,
    dovecot_missing_reason,
)

ACCOUNT = "Help desk"
POLL_COMMAND = "{python} -m civicdesk.cli email poll {account}"
SMTPD_COMMAND = "{python} -m civicdesk.cli smtpd --host 127.0.0.1 --port {port}"
WORKER_COMMAND = "{python} -m civicdesk.cli worker --verbosity 0"
FULL_THREADS = 500


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--replies", type=int, default=2, help="replies per thread")
    parser.add_argument("--full", action="store_true", help=f"{FULL_THREADS} threads")
    parser.add_argument("--civicdesk-feed", choices=("auto", "imap", "smtp"), default="auto")
    parser.add_argument("--clients", type=int, default=4, help="SMTP clients (smtp feed)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--helpdesk-dir", type=Path, default=REPO / "var" / "bench-helpdesk")
    parser.add_argument("--helpdesk-requirement", default=helpdesk_peer.HELPDESK_REQUIREMENT)
    parser.add_argument("--skip-helpdesk", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    if args.full:
        args.threads = FULL_THREADS
    return args


# --- Scoring against the ground truth -------------------------------------------------------


def score(
    messages: list[ThreadMessage], landed: dict[str, Any]
) -> tuple[dict[str, tuple[int, int]], int]:
    """({style: (right, of)}, replies that landed nowhere), where `landed` maps a Message-ID
    (without brackets) to the case or ticket it joined, and a thread's right answer is where
    its first message landed."""
    truth = {m.thread: landed.get(m.message_id) for m in messages if m.style == "first"}
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    lost = 0
    for message in messages:
        if message.style == "first":
            continue
        total[message.style] += 1
        where = landed.get(message.message_id)
        if where is None:
            lost += 1
        elif truth[message.thread] is not None and where == truth[message.thread]:
            right[message.style] += 1
    return {style: (right[style], total[style]) for style in total}, lost


def share(table: dict[str, tuple[int, int]]) -> tuple[int, int]:
    return sum(r for r, _ in table.values()), sum(n for _, n in table.values())


# --- django-helpdesk ------------------------------------------------------------------------


def run_helpdesk(args: argparse.Namespace, firsts: list[ThreadMessage]) -> dict[str, Any]:
    peer = helpdesk_peer.install(args.helpdesk_dir, requirement=args.helpdesk_requirement)
    startup = helpdesk_peer.startup_seconds(peer)
    with Dovecot() as mailbox:
        helpdesk_peer.configure_queue(
            peer,
            host="127.0.0.1",
            port=mailbox.port,
            user=mailbox.username,
            password=mailbox.password,
        )
        for message in firsts:
            mailbox.append(message.data)
        first_seconds = helpdesk_peer.get_email(peer)
        acks = acknowledgements_in(helpdesk_peer.sent_messages(peer), firsts)
        replies = thread_replies(firsts, acks, per_thread=args.replies)
        for message in replies:
            mailbox.append(message.data)
        reply_seconds = helpdesk_peer.get_email(peer)
        left = len(mailbox.flags())
    followups, tickets = helpdesk_peer.report(peer)
    landed = {key.strip().strip("<>"): ticket for key, ticket in followups.items()}
    table, lost = score(firsts + replies, landed)
    return {
        "label": f"django-helpdesk {peer.version}, SQLite, get_email over IMAP",
        "seconds": first_seconds + reply_seconds,
        "startup": startup,
        "runs": 2,
        "messages": len(firsts) + len(replies),
        "acks": len(acks),
        "cases": tickets,
        "table": table,
        "lost": lost,
        "left": left,
    }


# --- CivicDesk ------------------------------------------------------------------------------


def civicdesk_has_poll() -> bool:
    from django.core.management import get_commands

    return "email" in get_commands()


@contextlib.contextmanager
def civicdesk_feed(kind: str, db: BenchDatabase, args: argparse.Namespace) -> Iterator[Any]:
    """A function that delivers messages to CivicDesk by `kind` (returns when they are in)."""
    if kind == "smtp":
        port = free_port()
        log_path = db.var_dir.parent / "civicdesk-bench-vs-smtpd.log"
        command = SMTPD_COMMAND.replace("{port}", str(port))
        with running_process(command, db, log_path=log_path) as process:
            wait_for_smtp(port, process, log_path)

            def over_smtp(messages: list[ThreadMessage]) -> None:
                letters = [Letter(sender=m.sender, data=m.data) for m in messages]
                _, accepted, errors = send_all(port, letters, clients=args.clients)
                if accepted != len(letters):
                    raise SystemExit(f"smtpd refused {len(errors)}: {errors[:3]}")

            yield over_smtp
        return
    from civicdesk.channels.accounts import configure_account
    from civicdesk.channels.models import ChannelAccount

    with Dovecot() as mailbox:
        configure_account(
            account=ChannelAccount.objects.get(kind="email", name=ACCOUNT),
            values={
                "address": HELP,
                "imap_host": "127.0.0.1",
                "imap_port": mailbox.port,
                "imap_security": "starttls",
                "imap_username": mailbox.username,
                "imap_password": mailbox.password,
                "imap_ca_file": str(mailbox.cert),
            },
        )
        from django.db import connections

        connections.close_all()

        def over_imap(messages: list[ThreadMessage]) -> None:
            for message in messages:
                mailbox.append(message.data)
            command = POLL_COMMAND.format(python=sys.executable, account=shlex.quote(ACCOUNT))
            subprocess.run(  # noqa: S603 - our own command
                shlex.split(command), check=True, cwd=REPO, env=db.subprocess_env(),
                stdout=subprocess.DEVNULL,
            )  # fmt: skip

        yield over_imap


def wait_processed(messages: list[ThreadMessage], timeout: float) -> None:
    from django.db import connections

    from civicdesk.channels.models import InboundPayload, PayloadStatus

    waiting = {PayloadStatus.RECEIVED, PayloadStatus.PROCESSING}
    deadline = time.monotonic() + timeout
    while True:
        statuses = list(
            InboundPayload.objects.filter(channel="email").values_list("status", flat=True)
        )
        connections.close_all()
        if len(statuses) >= len(messages) and not waiting & set(statuses):
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"CivicDesk did not process {len(messages)} messages in time")
        time.sleep(0.1)


def wait_acknowledged(outbox: Path, expected: int, timeout: float = 60) -> list[bytes]:
    """The mail in the outbox, once `expected` messages are there or it stops growing."""
    deadline, last, still = time.monotonic() + timeout, -1, 0
    while time.monotonic() < deadline:
        files = sorted(outbox.glob("*.eml")) if outbox.exists() else []
        if len(files) >= expected:
            break
        still = still + 1 if len(files) == last else 0
        if still > 20:
            break
        last = len(files)
        time.sleep(0.1)
    return [file.read_bytes() for file in sorted(outbox.glob("*.eml"))] if outbox.exists() else []


def civicdesk_landed(messages: list[ThreadMessage]) -> tuple[dict[str, str], int]:
    """({Message-ID: case reference}, cases)."""
    from civicdesk.cases.models import Case
    from civicdesk.channels.models import InboundPayload

    landed: dict[str, str] = {}
    for provider_id, reference in InboundPayload.objects.filter(channel="email").values_list(
        "provider_message_id", "result_reference"
    ):
        if provider_id and provider_id.startswith("<") and reference:
            landed[provider_id[1:].split(">#", 1)[0]] = reference
    return landed, Case.objects.count()


ACKS_NOTE = (
    "CivicDesk sent no acknowledgement on this branch: its replies answer the citizen's first "
    "message, with the case reference in the subject as CivicDesk's mail carries it"
)


def standing_in_acknowledgements(firsts: list[ThreadMessage]) -> dict[int, Acknowledgement]:
    landed, _ = civicdesk_landed(firsts)
    return {
        first.thread: Acknowledgement(
            first.message_id, f"[{landed[first.message_id]}] {subject_of(first.data)}"
        )
        for first in firsts
        if first.message_id in landed
    }


def run_civicdesk(args: argparse.Namespace, firsts: list[ThreadMessage]) -> dict[str, Any]:
    with fresh_database(
        args.database, postgres_url=args.postgres_url, task_backend="database"
    ) as db:
        label = setup_django(db)
        seed_catalogue()
        seed_account()
        feed = args.civicdesk_feed
        note = ""
        if feed == "auto":
            feed = "imap" if civicdesk_has_poll() else "smtp"
            if feed == "smtp":
                note = (
                    "`civicdesk email poll` is not on this branch yet: CivicDesk was fed the "
                    "same messages over SMTP (--civicdesk-feed imap once it is)"
                )
        log_path = db.var_dir.parent / "civicdesk-bench-vs-worker.log"
        with (
            running_process(WORKER_COMMAND, db, log_path=log_path),
            civicdesk_feed(feed, db, args) as deliver,
        ):
            started = time.perf_counter()
            deliver(firsts)
            wait_processed(firsts, args.timeout)
            first_seconds = time.perf_counter() - started
            sent = wait_acknowledged(db.var_dir / "mail-outbox", len(firsts))
            acks = acknowledgements_in(sent, firsts)
            acks_sent = len(acks)
            if not acks:
                # None sent on this branch: a reply then answers the citizen's own first
                # message, with the case's reference in the subject as CivicDesk's own mail
                # carries it ("[RIV-2026-000001] ..."), which an agent's reply would have given.
                acks = standing_in_acknowledgements(firsts)
                note = "; ".join(filter(None, [note, ACKS_NOTE]))
            replies = thread_replies(firsts, acks, per_thread=args.replies)
            started = time.perf_counter()
            deliver(replies)
            wait_processed(firsts + replies, args.timeout)
            reply_seconds = time.perf_counter() - started
        landed, cases = civicdesk_landed(firsts + replies)
        table, lost = score(firsts + replies, landed)
        return {
            "label": f"CivicDesk on {label}, fed by {feed}"
            + (f" ({args.clients} clients) + civicdesk worker" if feed == "smtp" else ""),
            "seconds": first_seconds + reply_seconds,
            "startup": 0.0,
            "runs": 2,
            "messages": len(firsts) + len(replies),
            "acks": acks_sent,
            "cases": cases,
            "table": table,
            "lost": lost,
            "left": 0,
            "note": note,
        }


# --- Report ---------------------------------------------------------------------------------


def report(args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    threads = args.threads
    print(
        f"\n{threads} threads: {threads} first messages + {threads * args.replies} replies "
        f"({args.replies} per thread)"
    )
    print(f"{'system':<78}{'msg/s':>7}{'w/o start-up':>14}{'threaded right':>20}")
    for result in results:
        rate = result["messages"] / result["seconds"]
        busy = result["seconds"] - result["runs"] * result["startup"]
        net = f"{result['messages'] / busy:.0f}" if result["startup"] else "-"
        right, of = share(result["table"])
        print(
            f"{result['label']:<78}{rate:>7.0f}{net:>14}"
            f"{f'{right}/{of} = {right / max(of, 1):.0%}':>20}"
        )
    print(f"\nthreaded right, by the client's reply style ({', '.join(REPLY_STYLES)}):")
    for result in results:
        cells = "  ".join(
            f"{style}: {result['table'].get(style, (0, 0))[0]}/"
            f"{result['table'].get(style, (0, 0))[1]}"
            for style in REPLY_STYLES
        )
        print(f"  {result['label'].split(',')[0]}: {cells}")
    for result in results:
        print(
            f"  {result['label'].split(',')[0]}: {result['cases']} cases/tickets for "
            f"{threads} threads; {result['acks']} acknowledgements sent; "
            f"{result['lost']} replies not imported; {result['left']} left in the mailbox"
        )
        if result.get("note"):
            print(f"  note: {result['note']}")


def main() -> None:
    args = arguments()
    reason = dovecot_missing_reason()
    if reason:
        raise SystemExit(reason)
    print(f"Email: CivicDesk beside django-helpdesk; {machine_label()}")
    firsts = first_messages(args.threads)
    results = [run_civicdesk(args, firsts)]
    if not args.skip_helpdesk:
        results.append(run_helpdesk(args, firsts))
    report(args, results)
    print(load_note())


if __name__ == "__main__":
    main()
