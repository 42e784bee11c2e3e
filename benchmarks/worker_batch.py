"""Worker processing of stored contacts: statements, commits and contacts per second.

    .venv/bin/python benchmarks/worker_batch.py [--contacts 1000] [--mode batch|single|both]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/worker_batch.py

Stores `--contacts` API contacts as acknowledged payloads (status received, each with its
reserved reference, as a fast acknowledgement leaves them), then turns them into routed cases:

- *single*: one `process_payload` per payload, the per-payload path a task runs;
- *batch*: `process_waiting(limit=50)` until nothing waits, the worker's ingest loop.

Every SQL statement and every COMMIT is counted (`connection.execute_wrapper` and the
connection's commit), so the figures per contact are exact. The baseline is the same
database's rate for one bare INSERT of a payload-sized row per transaction, in the same run.
"""

from __future__ import annotations

import argparse
import collections
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import harness
from harness import load_note, machine_label, prepared_django

# Its own scratch database, so that it may run beside the other benchmarks.
harness.BENCH_DATABASE = "civicdesk_bench_worker"

SUBJECTS = (
    ("noise", "Loud music every night", "The flat above plays loud music past midnight."),
    ("", "My bin was missed", "The bin on our street was not collected this morning."),
    ("", "Question about my account", "I moved house last month; who do I tell?"),
)


def contact(n: int, run: str) -> dict[str, Any]:
    service_code, subject, body = SUBJECTS[n % len(SUBJECTS)]
    data: dict[str, Any] = {
        "external_id": f"bench-{run}-{n}",
        "citizen": {"name": f"Resident {n % 300}", "email": f"resident{n % 300}@mail.example"},
        "subject": subject,
        "body": f"{body} (contact {n})",
    }
    if service_code:
        data["service_code"] = service_code
    return data


def store_payloads(run: str, count: int) -> list[int]:
    """Acknowledged contacts as the fast path stores them: raw, received, referenced."""
    from django.utils import timezone

    from civicdesk.cases.services import next_reference
    from civicdesk.channels import guards
    from civicdesk.channels.contracts import RawPayload
    from civicdesk.channels.models import InboundPayload, PayloadStatus
    from civicdesk.channels.registry import adapter_for

    adapter = adapter_for("api")
    rows = []
    at = timezone.now()
    for n in range(count):
        body = json.dumps(contact(n, run)).encode()
        message = adapter.parse_inbound(RawPayload(body=body))
        rows.append(
            InboundPayload(
                channel="api",
                provider_message_id=message.provider_message_id,
                body=body,
                status=PayloadStatus.RECEIVED,
                sender_identity=guards.sender_identity(message.sender),
                reference=next_reference(at=at),
            )
        )
    return [p.pk for p in InboundPayload.objects.bulk_create(rows, batch_size=500)]


@contextmanager
def counted() -> Iterator[collections.Counter[str]]:
    """Counts statements (by first word) and commits on the default connection."""
    from django.db import connection

    counts: collections.Counter[str] = collections.Counter()

    def wrapper(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        counts["statements"] += 1
        word = sql.lstrip().split(" ", 1)[0].upper()
        counts[word] += 1
        if not connection.in_atomic_block and word not in ("SELECT", "BEGIN"):
            counts["COMMIT"] += 1  # autocommit: the statement is its own transaction
        return execute(sql, params, many, context)

    real_commit = connection._commit

    def commit() -> Any:
        counts["COMMIT"] += 1
        return real_commit()

    connection._commit = commit
    try:
        with connection.execute_wrapper(wrapper):
            yield counts
    finally:
        del connection._commit


def run_single(ids: list[int]) -> None:
    from civicdesk.channels.services import process_payload

    for payload_id in ids:
        process_payload(payload_id=payload_id)


def run_batch(_ids: list[int]) -> None:
    from civicdesk.channels.services import process_waiting

    while process_waiting(limit=50):
        pass


def bare_insert_rate(count: int) -> float:
    """INSERTs of payload-sized rows into a scratch table, one transaction each, per second."""
    from django.db import connection, transaction

    serial = "BIGSERIAL" if connection.vendor == "postgresql" else "INTEGER"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_scratch")
        cursor.execute(
            f"CREATE TABLE bench_scratch (id {serial} PRIMARY KEY, channel VARCHAR(30), "
            "external_id VARCHAR(255), body TEXT, created_at TIMESTAMP)"
        )
    rows = [json.dumps(contact(n, "raw")) for n in range(count)]
    started = time.perf_counter()
    for n, body in enumerate(rows):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_scratch (channel, external_id, body, created_at) "
                "VALUES (%s, %s, %s, CURRENT_TIMESTAMP)",
                ["api", f"raw-{n}", body],
            )
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--mode", choices=("batch", "single", "both"), default="both")
    args = parser.parse_args()

    with prepared_django() as database:
        from civicdesk.cases.models import Case
        from civicdesk.channels.models import InboundPayload, PayloadStatus
        from tests.factories import build_riverton

        print(f"CivicDesk worker benchmark on {database}; {machine_label()}")
        build_riverton()
        modes = ("single", "batch") if args.mode == "both" else (args.mode,)
        runners = {"single": run_single, "batch": run_batch}
        results = {}
        for mode in modes:
            run_batch(store_payloads(f"warm-{mode}", 20)) if mode == "batch" else run_single(
                store_payloads(f"warm-{mode}", 20)
            )
            ids = store_payloads(mode, args.contacts)
            started = time.perf_counter()
            with counted() as counts:
                runners[mode](ids)
            elapsed = time.perf_counter() - started
            done = InboundPayload.objects.filter(pk__in=ids, status=PayloadStatus.PROCESSED).count()
            routed = Case.objects.filter(
                reference__in=InboundPayload.objects.filter(pk__in=ids).values("reference"),
                queue__isnull=False,
            ).count()
            if done != len(ids) or routed != len(ids):
                raise SystemExit(f"{mode}: {done} processed, {routed} routed of {len(ids)}")
            results[mode] = (len(ids) / elapsed, counts)
        raw_rate = bare_insert_rate(args.contacts)

        print(f"{args.contacts} contacts per run, every one processed into a routed case\n")
        print(f"{'path':<10}{'contacts/s':>11}{'SQL/contact':>13}{'commits/contact':>17}  by kind")
        for mode, (rate, counts) in results.items():
            per = {k: v / args.contacts for k, v in counts.items()}
            kinds = ", ".join(
                f"{k} {v:.2f}" for k, v in sorted(per.items()) if k not in ("statements", "COMMIT")
            )
            print(
                f"{mode:<10}{rate:>11.0f}{per['statements']:>13.2f}"
                f"{per.get('COMMIT', 0):>17.3f}  {kinds}"
            )
        print(f"{'bare INSERT + commit':<21}{raw_rate:>11.0f}/s")
        print(load_note())


if __name__ == "__main__":
    main()
