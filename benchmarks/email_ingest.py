"""Email ingest end to end: SMTP accepted (stored durably) → processed into cases, against the
bare standard-library parse rate of the same corpus in the same run.

    python benchmarks/email_ingest.py [--database sqlite|postgres] [--messages 600]
        [--clients 4] [--full] [--profile]

The corpus is the email adapter's real-world messages (`tests/payloads/*.eml`: Outlook, Gmail,
Apple Mail, phones, HTML-only, non-UTF-8 charsets, forwarded, auto-replies, a bounce...) sent
in turn, each with a Message-ID and a sender of its own (`email_corpus.ingest_corpus`).

- *baseline*: `email.message_from_bytes(data, policy=email.policy.default)` and a walk over
  every part, reading each leaf part's decoded content, over the whole corpus in this process:
  messages per second.
- *acknowledgement*: a real `civicdesk smtpd` (`--smtpd-command`) on a fresh database, the
  email account of the test catalogue's city hall, `--clients` smtplib clients in threads, each
  on its own connection, sending the corpus; a message counts when the listener answered 250
  after DATA (it answers so only once the message is committed). Messages per second from the
  first send to the last 250. Afterwards every acknowledged message must be in the database.
- *processed*: then `civicdesk worker` (`--worker-command`) turns them into cases; the rate
  runs from the first to the last `processed_at` (the worker's start-up excluded). Payloads
  per second and cases per second (bounces, auto-replies and lists open no case).

The target (issue 7) is an acknowledgement rate of at least 0.5x the parse rate. `--profile`
stores `--profile-messages` more through the listener's intake in this process under cProfile
and prints where the time of one acknowledgement goes.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import email
import email.policy
import io
import pstats
import queue
import secrets
import shlex
import smtplib
import subprocess
import sys
import threading
import time
from typing import Any

from email_corpus import HELP, Letter, corpus_files, ingest_corpus
from harness import load_note, machine_label
from ingest_support import (
    DEFAULT_POSTGRES_URL,
    BenchDatabase,
    free_port,
    fresh_database,
    running_process,
    seed_catalogue,
    setup_django,
)

DEFAULT_SMTPD_COMMAND = "{python} -m civicdesk.cli smtpd --host 127.0.0.1 --port {port}"
DEFAULT_WORKER_COMMAND = "{python} -m civicdesk.cli worker --verbosity 0"
FULL_MESSAGES = 5000
TARGET = 0.5


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--full", action="store_true", help=f"{FULL_MESSAGES} messages")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--parse-repeat", type=int, default=3, help="best of N parse runs")
    parser.add_argument("--smtpd-command", default=DEFAULT_SMTPD_COMMAND)
    parser.add_argument("--worker-command", default=DEFAULT_WORKER_COMMAND)
    parser.add_argument("--no-worker", action="store_true")
    parser.add_argument("--drain-timeout", type=float, default=1200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-messages", type=int, default=300)
    args = parser.parse_args()
    if args.full:
        args.messages = FULL_MESSAGES
    return args


# --- The baseline ---------------------------------------------------------------------------


def parse_and_walk(data: bytes) -> int:
    """The bare standard library's work on one message: parse, walk, decode every leaf."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    parts = 0
    for part in message.walk():
        parts += 1
        if not part.is_multipart():
            # An unknown charset or a broken part: the parse still counts.
            with contextlib.suppress(LookupError, ValueError, KeyError):
                part.get_content()  # type: ignore[attr-defined]
    return parts


def parse_rate(letters: list[Letter], *, repeat: int) -> float:
    best = 0.0
    for _ in range(repeat):
        started = time.perf_counter()
        for letter in letters:
            parse_and_walk(letter.data)
        best = max(best, len(letters) / (time.perf_counter() - started))
    return best


# --- The acknowledgement path ---------------------------------------------------------------


def seed_account() -> None:
    from django.db import connections

    from civicdesk.channels.services import ensure_account

    ensure_account(kind="email", name="Help desk", values={"address": HELP})
    connections.close_all()


def wait_for_smtp(port: int, process: subprocess.Popen[bytes], log: Any) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"smtpd exited ({process.returncode}):\n{log.read_text()}")
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
                smtp.noop()
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"smtpd not answering on port {port} after 60 s")


def send_all(port: int, letters: list[Letter], *, clients: int) -> tuple[float, int, list[str]]:
    """Send `letters` from `clients` connections; (seconds, accepted, errors)."""
    work: queue.SimpleQueue[Letter | None] = queue.SimpleQueue()
    for letter in letters:
        work.put(letter)
    for _ in range(clients):
        work.put(None)
    accepted = [0] * clients
    errors: list[str] = []
    ready = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            smtp.ehlo("bench.example")
            ready.wait()
            while (letter := work.get()) is not None:
                try:
                    smtp.sendmail(letter.sender, [HELP], letter.data)
                    accepted[index] += 1
                except smtplib.SMTPException as exc:
                    errors.append(f"{letter.sender}: {exc!r}")
                    smtp.rset()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, sum(accepted), errors


def last_payload_id() -> int:
    from django.db import connections
    from django.db.models import Max

    from civicdesk.channels.models import InboundPayload

    last = InboundPayload.objects.aggregate(last=Max("id"))["last"] or 0
    connections.close_all()
    return int(last)


def stored_count(since: int) -> tuple[int, dict[str, int]]:
    """The payloads stored after id `since` (bounces carry no Message-ID of their own: they
    are found by id, not by the run's Message-IDs)."""
    from django.db import connections
    from django.db.models import Count

    from civicdesk.channels.models import InboundPayload

    payloads = InboundPayload.objects.filter(id__gt=since, channel="email")
    statuses = {r["status"]: r["n"] for r in payloads.values("status").annotate(n=Count("id"))}
    connections.close_all()
    return sum(statuses.values()), statuses


def drain(since: int, count: int, timeout: float) -> tuple[float, float, int, dict[str, int]]:
    """Wait for the worker to process this run; (payloads/s, cases/s, cases, statuses)."""
    from django.db import connections
    from django.db.models import Max, Min

    from civicdesk.cases.models import Case
    from civicdesk.channels.models import InboundPayload, PayloadStatus

    payloads = InboundPayload.objects.filter(id__gt=since, channel="email")
    deadline = time.monotonic() + timeout
    while payloads.filter(status__in=[PayloadStatus.RECEIVED, PayloadStatus.PROCESSING]).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"the worker did not drain {count} messages in {timeout:.0f} s")
        time.sleep(0.5)
        connections.close_all()
    _, statuses = stored_count(since)
    processed = payloads.exclude(processed_at__isnull=True).filter(
        status=PayloadStatus.PROCESSED, result_reference__gt=""
    )
    span = processed.aggregate(first=Min("processed_at"), last=Max("processed_at"))
    seconds = max((span["last"] - span["first"]).total_seconds(), 1e-6)
    references = processed.values("result_reference")
    cases = Case.objects.filter(reference__in=references).count()
    handled = payloads.exclude(processed_at__isnull=True).filter(
        processed_at__gte=span["first"], processed_at__lte=span["last"]
    )
    rate = max(handled.count() - 1, 1) / seconds
    return rate, max(cases - 1, 1) / seconds, cases, statuses


# --- Where the time of one acknowledgement goes ---------------------------------------------

# The listener with an intake that stores nothing: what SMTP itself costs (aiosmtpd serving,
# smtplib sending), the ceiling of the acknowledgement path on this machine.
NO_STORE_LISTENER = """
import sys, threading
from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.adapters.email.listener import SmtpListener
from civicdesk.channels.contracts import ListenerAccount, ListenerVerdict

class Nothing:
    def account_for(self, identity):
        return ListenerAccount(account_id=1, config=EmailConfig(address=identity))

    def accept(self, raw, account):
        return ListenerVerdict(stored=True)

SmtpListener(host="127.0.0.1", port=int(sys.argv[1]), intake=Nothing()).start()
threading.Event().wait()
"""


def smtp_ceiling(db: BenchDatabase, letters: list[Letter], *, clients: int) -> float:
    port = free_port()
    command = f"{{python}} -c {shlex.quote(NO_STORE_LISTENER)} {port}"
    log_path = db.var_dir.parent / "civicdesk-bench-smtp-ceiling.log"
    with running_process(command, db, log_path=log_path) as process:
        wait_for_smtp(port, process, log_path)
        send_all(port, letters[:20], clients=1)
        seconds, accepted, _ = send_all(port, letters, clients=clients)
    return accepted / seconds


def intake_rate(run: str, count: int) -> float:
    """Messages per second stored through the listener's intake in this process, one at a
    time, without SMTP."""
    intake, account, raws = _intake_inputs(run, count)
    started = time.perf_counter()
    for raw in raws:
        intake.accept(raw, account)
    return count / (time.perf_counter() - started)


def _intake_inputs(run: str, count: int) -> tuple[Any, Any, list[Any]]:
    from civicdesk.channels.adapters.email.envelope import CONTENT_TYPE, Envelope
    from civicdesk.channels.contracts import RawPayload
    from civicdesk.channels.listening import AccountIntake

    intake = AccountIntake("email")
    account = intake.account_for(HELP)
    assert account is not None
    raws = [
        RawPayload(
            body=letter.data,
            content_type=CONTENT_TYPE,
            headers=Envelope(sender=letter.sender, recipients=(HELP,)).to_headers(),
        )
        for letter in ingest_corpus(count, run=run)
    ]
    return intake, account, raws


def profile_intake(run: str, count: int) -> str:
    """Store `count` messages through the listener's intake, in this process, profiled."""
    intake, account, raws = _intake_inputs(run, count)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for raw in raws:
        intake.accept(raw, account)
    profiler.disable()
    elapsed = time.perf_counter() - started
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(28)
    return (
        f"intake.accept in this process, one at a time: {count / elapsed:.0f} messages/s "
        f"({elapsed / count * 1000:.2f} ms each, under cProfile)\n" + out.getvalue()
    )


def main() -> None:
    args = arguments()
    with fresh_database(
        args.database, postgres_url=args.postgres_url, task_backend="database"
    ) as db:
        label = setup_django(db)
        seed_catalogue()
        seed_account()
        run = f"e{secrets.token_hex(3)}"
        letters = ingest_corpus(args.messages, run=run)
        warmup = ingest_corpus(args.warmup, run=f"{run}w")
        size = sum(len(letter.data) for letter in letters) / len(letters)
        print(f"CivicDesk email ingest on {label}; {machine_label()}")
        print(
            f"corpus: {len(corpus_files())} real-world messages in turn, {args.messages} sent "
            f"(mean {size / 1024:.1f} KiB), each with its own Message-ID and sender"
        )
        # Measured before and after the SMTP run, and averaged: on a shared machine the load
        # changes during a run, and the ratio should not hinge on one quiet moment.
        before = parse_rate(letters, repeat=args.parse_repeat)
        ack = acknowledgements(db, args, run, letters, warmup)
        after = parse_rate(letters, repeat=args.parse_repeat)
        baseline = (before + after) / 2
        print(f"parse rate before the SMTP run {before:.0f}/s, after it {after:.0f}/s")
        report(args, baseline, ack)
        if args.profile:
            ceiling = smtp_ceiling(db, letters, clients=args.clients)
            alone = intake_rate(f"{run}i", args.profile_messages)
            print(f"\nwhere the time goes ({args.clients} clients, {args.messages} messages):")
            print(
                f"  SMTP alone (listener storing nothing): {ceiling:>7.0f} msg/s "
                f"{ceiling / baseline:.3g}x, {1000 / ceiling:.2f} ms each"
            )
            print(
                f"  intake.accept alone, in process:      {alone:>7.0f} msg/s "
                f"{alone / baseline:.3g}x, {1000 / alone:.2f} ms each"
            )
            print(
                f"  parse + walk (baseline):              {baseline:>7.0f} msg/s, "
                f"{1000 / baseline:.2f} ms each"
            )
            print("\n" + profile_intake(f"{run}p", args.profile_messages))
        print(load_note())


def acknowledgements(
    db: BenchDatabase,
    args: argparse.Namespace,
    run: str,
    letters: list[Letter],
    warmup: list[Letter],
) -> dict[str, Any]:
    port = free_port()
    log_path = db.var_dir.parent / f"civicdesk-bench-smtpd-{run}.log"
    result: dict[str, Any] = {}
    command = args.smtpd_command.replace("{port}", str(port))
    with running_process(command, db, log_path=log_path) as process:
        wait_for_smtp(port, process, log_path)
        send_all(port, warmup, clients=1)
        since = last_payload_id()
        seconds, accepted, errors = send_all(port, letters, clients=args.clients)
    result["ack_rate"] = accepted / seconds
    result["accepted"] = accepted
    result["errors"] = errors
    stored, statuses = stored_count(since)
    result["stored"], result["stored_statuses"] = stored, statuses
    if stored < accepted:
        raise SystemExit(f"{accepted} messages acknowledged but only {stored} stored")
    if not args.no_worker:
        log_path = db.var_dir.parent / f"civicdesk-bench-worker-{run}.log"
        with running_process(args.worker_command, db, log_path=log_path):
            rate, case_rate, cases, final = drain(since, accepted, args.drain_timeout)
        result |= {"processed_rate": rate, "case_rate": case_rate, "cases": cases, "final": final}
    return result


def report(args: argparse.Namespace, baseline: float, ack: dict[str, Any]) -> None:
    rate = ack["ack_rate"]
    print(f"\n{'path':<58}{'msg/s':>9}{'/ parse':>9}")
    label = f"stdlib parse + walk, same corpus (best of {args.parse_repeat}, mean of 2)"
    print(f"{label:<58}{baseline:>9.0f}")
    label = f"acknowledged: 250 after DATA, stored ({args.clients} SMTP clients)"
    print(f"{label:<58}{rate:>9.0f}{rate / baseline:>8.3g}x")
    if "processed_rate" in ack:
        p = ack["processed_rate"]
        print(f"{'processed by civicdesk worker (payloads)':<58}{p:>9.0f}{p / baseline:>8.3g}x")
        c = ack["case_rate"]
        print(f"{'  of which cases opened (cases/s)':<58}{c:>9.0f}{c / baseline:>8.3g}x")
    met = "met" if rate >= TARGET * baseline else "MISSED"
    print(f"\ntarget: acknowledgement >= {TARGET}x the parse rate: {met} ({rate / baseline:.3g}x)")
    print(
        f"acknowledged {ack['accepted']} of {args.messages}, stored {ack['stored']} "
        f"{ack['stored_statuses']}; refused: {len(ack['errors'])} {ack['errors'][:3]}"
    )
    if "final" in ack:
        print(f"after the worker: {ack['final']}; {ack['cases']} cases")
    print(f"  smtpd: {args.smtpd_command}\n  worker: {args.worker_command}")


if __name__ == "__main__":
    sys.exit(main())
