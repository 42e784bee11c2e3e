"""Acknowledged API contacts per second over HTTP, from a second process, against the database's
bare INSERT + commit rate measured in the same run.

    python benchmarks/ingest_http.py [--database sqlite|postgres] [--seconds 20]
        [--connections 16] [--server-command "...{python}...{port}..."]

The server runs as its own process (by default `civicdesk serve --no-worker --no-scheduler`) on
a fresh database seeded with the test catalogue and one API token. This process then POSTs
contacts to /api/v1/contacts — each with a unique external_id and its own citizen, about 500
bytes — from `--connections` keep-alive connections, each sending the next contact as soon as
the last one was answered (closed loop), for a warm-up and then `--seconds`. An answer of 200,
201 or 202 acknowledges a contact; anything else, a time-out or a dropped connection is counted
by its kind. Afterwards the database is checked: every acknowledged contact must be stored.

The baseline, in the same run and on the same database: rows per second that a Python client
(psycopg / sqlite3) inserts into a table shaped like the stored payload, one commit per row,
from one connection and from `--raw-threads` connections at once. The script also counts, in
this process through Django's test client, the SQL statements and commits of one contact.
"""

from __future__ import annotations

import argparse
import secrets
import time
from collections import Counter

from harness import load_note, machine_label
from ingest_support import (
    DEFAULT_POSTGRES_URL,
    DEFAULT_SERVER_COMMAND,
    SqlCount,
    contact_body,
    counting_sql,
    free_port,
    fresh_database,
    raw_insert_rate,
    running_server,
    seed_catalogue,
    setup_django,
)
from load_client import LoadResult, closed_loop


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="The database in it is dropped and created again (default: %(default)s).",
    )
    parser.add_argument(
        "--server-command",
        default=DEFAULT_SERVER_COMMAND,
        help="{python} and {port} are filled in (default: %(default)s).",
    )
    parser.add_argument("--task-backend", default="database", help="CIVICDESK_TASK_BACKEND")
    parser.add_argument("--redis-url", default="", help="REDIS_URL for the server (default none)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=30, help="seconds per request")
    parser.add_argument("--raw-seconds", type=float, default=5)
    parser.add_argument("--raw-threads", type=int, default=0, help="default: --connections")
    parser.add_argument("--count-contacts", type=int, default=10)
    return parser.parse_args()


def in_process_cost(token: str, count: int) -> SqlCount:
    """SQL statements and commits of `count` contacts through Django's test client."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    run = f"count{secrets.token_hex(3)}"
    with counting_sql() as counted:
        for n in range(count):
            response = client.post(
                "/api/v1/contacts", contact_body(run, n), content_type="application/json"
            )
            if response.status_code not in (200, 201, 202):
                raise SystemExit(f"{response.status_code} {response.content[:300]!r}")
    return counted


def stored_payloads() -> Counter[str]:
    from django.db import connections
    from django.db.models import Count

    from civicdesk.channels.models import InboundPayload

    connections.close_all()
    rows = InboundPayload.objects.filter(channel="api").values("status").annotate(n=Count("id"))
    return Counter({row["status"]: row["n"] for row in rows})


def main() -> None:
    args = arguments()
    raw_threads = args.raw_threads or args.connections
    with fresh_database(
        args.database,
        postgres_url=args.postgres_url,
        task_backend=args.task_backend,
        redis_url=args.redis_url,
    ) as db:
        label = setup_django(db)
        token = seed_catalogue()
        print(f"CivicDesk ingest over HTTP on {label}; {machine_label()}")
        cost = in_process_cost(token, args.count_contacts)
        before = sum(stored_payloads().values())
        raw_one = raw_insert_rate(db, threads=1, seconds=args.raw_seconds)
        raw_many = raw_insert_rate(db, threads=raw_threads, seconds=args.raw_seconds)

        port = free_port()
        run = f"http{secrets.token_hex(3)}"
        log_path = db.var_dir.parent / f"civicdesk-bench-server-{port}.log"
        with running_server(args.server_command, db, port=port, log_path=log_path):
            if args.warmup:
                warm = closed_loop(
                    port=port,
                    token=token,
                    run=f"{run}w",
                    connections=args.connections,
                    seconds=args.warmup,
                    timeout=args.timeout,
                )
            else:
                warm = LoadResult()
            result = closed_loop(
                port=port,
                token=token,
                run=run,
                connections=args.connections,
                seconds=args.seconds,
                timeout=args.timeout,
            )
            time.sleep(1)  # let requests whose client timed out finish before counting
        stored = stored_payloads()
        report(
            args=args,
            result=result,
            warm=warm,
            cost=cost,
            raw_one=raw_one,
            raw_many=raw_many,
            raw_threads=raw_threads,
            stored=stored,
            before=before,
        )
        print(f"server output: {log_path}")


def report(
    *,
    args: argparse.Namespace,
    result: LoadResult,
    warm: LoadResult,
    cost: SqlCount,
    raw_one: float,
    raw_many: float,
    raw_threads: int,
    stored: Counter[str],
    before: int,
) -> None:
    n = args.count_contacts
    rate = result.acknowledged / result.seconds
    cpu = 100 * result.client_cpu_seconds / result.seconds
    print(f"server: {args.server_command} (tasks: {args.task_backend})")
    print(
        f"client: {args.connections} keep-alive connections, closed loop, {args.seconds:.0f} s "
        f"after {args.warmup:.0f} s of warm-up; the client used {cpu:.0f} % of one core"
    )
    print(f"per contact, in process (mean of {n}): {cost.per(n)}")
    print(f"\n{'run':<34}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'/ raw 1':>11}{'/ raw N':>11}")
    print(
        f"{'acknowledged contacts (HTTP)':<34}{rate:>8.0f}{result.percentile(50):>9.1f}"
        f"{result.percentile(99):>9.1f}{rate / raw_one:>10.3g}x{rate / raw_many:>10.3g}x"
    )
    print(f"{'bare INSERT + commit, 1 client':<34}{raw_one:>8.0f}")
    print(f"{f'bare INSERT + commit, {raw_threads} clients':<34}{raw_many:>8.0f}")
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(result.statuses.items()))
    errors = result.errors
    print(f"\nanswers: {answers}; errors: {sum(errors.values())}")
    expected = result.acknowledged + warm.acknowledged
    total = sum(stored.values()) - before
    states = ", ".join(f"{k} {v}" for k, v in sorted(stored.items()))
    verdict = "every acknowledged contact is stored" if total >= expected else "CONTACTS MISSING"
    print(f"stored payloads: {total} for {expected} acknowledged ({states}): {verdict}")
    print(load_note())


if __name__ == "__main__":
    main()
