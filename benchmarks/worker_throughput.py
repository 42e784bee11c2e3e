"""Worker throughput: stored contacts turned into routed cases per second, against the
database's bare INSERT + commit rate measured in the same run.

    python benchmarks/worker_throughput.py [--database sqlite|postgres] [--contacts 2000]
        [--batch 50] [--no-real-worker]

On a fresh database seeded with the test catalogue, `--contacts` API contacts (about 500 bytes,
each from its own citizen) are stored through the real `accept_inbound`, without processing
(CIVICDESK_TASK_BACKEND=database: each gets its task row, and nothing runs inline). Then:

- *in process*: all of them are processed here, timed — by `channels.services.process_waiting
  (limit=--batch)` until it returns 0 when that exists, else by `process_payload` for each
  stored payload in arrival order (the path a task takes per payload);
- *real worker*: as many again are stored and `civicdesk worker` (`--worker-command`) is started
  as a subprocess; the rate is taken from the payloads' `processed_at` (first to last), so the
  worker's start-up does not count.

Every payload must end processed, with a case. A further `--count-contacts` are processed in
process while counting SQL statements and commits (`connection.execute_wrapper`; a statement
outside `atomic()` runs under autocommit and is a transaction of its own).
"""

from __future__ import annotations

import argparse
import secrets
import time
from collections.abc import Callable
from typing import Any

from harness import load_note, machine_label
from ingest_support import (
    DEFAULT_POSTGRES_URL,
    BenchDatabase,
    SqlCount,
    contact_body,
    counting_sql,
    fresh_database,
    raw_insert_rate,
    running_process,
    seed_catalogue,
    setup_django,
)

DEFAULT_WORKER_COMMAND = "{python} -m civicdesk.cli worker --verbosity 0"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=50, help="limit for process_waiting")
    parser.add_argument("--count-contacts", type=int, default=100)
    parser.add_argument("--raw-seconds", type=float, default=5)
    parser.add_argument("--worker-command", default=DEFAULT_WORKER_COMMAND)
    parser.add_argument("--no-real-worker", action="store_true")
    parser.add_argument("--drain-timeout", type=float, default=600)
    return parser.parse_args()


def store(run: str, count: int) -> float:
    """Store `count` contacts as the API does, without processing; returns stores per second."""
    from civicdesk.channels.contracts import RawPayload
    from civicdesk.channels.services import accept_inbound

    started = time.perf_counter()
    for n in range(count):
        raw = RawPayload(
            body=contact_body(run, n),
            content_type="application/json",
            headers={"User-Agent": "civicdesk-benchmark"},
        )
        accept_inbound(channel="api", raw=raw, process_now=False, verified=True)
    return count / (time.perf_counter() - started)


def processor(batch: int) -> tuple[str, Callable[[], int]]:
    """How this code base processes waiting payloads in a worker: (label, process them all)."""
    from civicdesk.channels import services
    from civicdesk.channels.models import InboundPayload, PayloadStatus

    process_waiting: Any = getattr(services, "process_waiting", None)
    if process_waiting is not None:

        def in_batches() -> int:
            total = 0
            while done := process_waiting(limit=batch):
                total += done
            return total

        return f"process_waiting(limit={batch})", in_batches

    def one_by_one() -> int:
        waiting = InboundPayload.objects.filter(status=PayloadStatus.RECEIVED).order_by("id")
        ids = list(waiting.values_list("id", flat=True))
        for payload_id in ids:
            services.process_payload(payload_id=payload_id)
        return len(ids)

    return "process_payload per payload", one_by_one


def outcome(run: str) -> tuple[dict[str, int], int]:
    """Statuses of this run's payloads, and how many of them have a routed case."""
    from django.db.models import Count

    from civicdesk.cases.models import Case
    from civicdesk.channels.models import InboundPayload

    payloads = InboundPayload.objects.filter(provider_message_id__startswith=f"{run}-")
    statuses = {
        row["status"]: row["n"] for row in payloads.values("status").annotate(n=Count("id"))
    }
    references = payloads.exclude(result_reference="").values("result_reference")
    routed = Case.objects.filter(reference__in=references, queue__isnull=False).count()
    return statuses, routed


def check(run: str, count: int) -> None:
    from civicdesk.channels.models import InboundPayload, PayloadStatus

    statuses, routed = outcome(run)
    if statuses.get(PayloadStatus.PROCESSED, 0) != count or routed != count:
        failed = InboundPayload.objects.filter(
            provider_message_id__startswith=f"{run}-", status=PayloadStatus.FAILED
        ).values_list("error", flat=True)[:3]
        raise SystemExit(f"{run}: {statuses}, {routed} routed cases of {count}; {list(failed)}")


def forget_tasks() -> None:
    """The payloads processed here left their tasks queued: drop them, so that the worker
    process starts on the contacts it is timed on."""
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()


def real_worker(db: BenchDatabase, command: str, run: str, count: int, timeout: float) -> float:
    """Contacts per second of the worker process, from its first to its last processed_at."""
    from django.db import connections
    from django.db.models import Max, Min

    from civicdesk.channels.models import InboundPayload, PayloadStatus

    payloads = InboundPayload.objects.filter(provider_message_id__startswith=f"{run}-")
    log_path = db.var_dir.parent / f"civicdesk-bench-worker-{run}.log"
    connections.close_all()
    with running_process(command, db, log_path=log_path):
        deadline = time.monotonic() + timeout
        while payloads.filter(status__in=[PayloadStatus.RECEIVED, PayloadStatus.PROCESSING]):
            if time.monotonic() > deadline:
                raise SystemExit(f"the worker did not drain {count} payloads in {timeout:.0f} s")
            time.sleep(0.5)
            connections.close_all()
    check(run, count)
    span = payloads.aggregate(first=Min("processed_at"), last=Max("processed_at"))
    seconds: float = (span["last"] - span["first"]).total_seconds()
    return (count - 1) / max(seconds, 1e-6)


def main() -> None:
    args = arguments()
    with fresh_database(
        args.database, postgres_url=args.postgres_url, task_backend="database"
    ) as db:
        label = setup_django(db)
        seed_catalogue()
        print(f"CivicDesk worker throughput on {label}; {machine_label()}")
        path, process_all = processor(args.batch)
        suffix = secrets.token_hex(3)

        store_rate = store(f"w{suffix}", args.contacts)
        started = time.perf_counter()
        processed = process_all()
        elapsed = time.perf_counter() - started
        check(f"w{suffix}", args.contacts)
        rate = processed / elapsed

        store(f"c{suffix}", args.count_contacts)
        with counting_sql() as counted:
            process_all()
        check(f"c{suffix}", args.count_contacts)

        worker_rate = 0.0
        if not args.no_real_worker:
            forget_tasks()
            store(f"r{suffix}", args.contacts)
            worker_rate = real_worker(
                db, args.worker_command, f"r{suffix}", args.contacts, args.drain_timeout
            )
        raw = raw_insert_rate(db, threads=1, seconds=args.raw_seconds)
        report(
            args=args,
            path=path,
            store_rate=store_rate,
            rate=rate,
            worker_rate=worker_rate,
            raw=raw,
            counted=counted,
        )


def report(
    *,
    args: argparse.Namespace,
    path: str,
    store_rate: float,
    rate: float,
    worker_rate: float,
    raw: float,
    counted: SqlCount,
) -> None:
    print(f"processing: {path}; {args.contacts} contacts per run, each routed to a case")
    print(f"per contact (mean of {args.count_contacts}): {counted.per(args.count_contacts)}")
    print(f"\n{'run':<40}{'contacts/s':>11}{'/ raw':>9}")
    label = "stored by accept_inbound (no processing)"
    print(f"{label:<40}{store_rate:>11.0f}{store_rate / raw:>8.3g}x")
    print(f"{'processed in process':<40}{rate:>11.0f}{rate / raw:>8.3g}x")
    if worker_rate:
        label = "processed by the worker process"
        print(f"{label:<40}{worker_rate:>11.0f}{worker_rate / raw:>8.3g}x")
        print(f"  worker: {args.worker_command}")
    print(f"{'bare INSERT + commit, 1 client':<40}{raw:>11.0f}")
    print(load_note())


if __name__ == "__main__":
    main()
