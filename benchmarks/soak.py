"""Soak: the server with its worker at a fixed offered rate for a long while; then every
acknowledged contact must have become exactly one case, and nothing may need a person.

    python benchmarks/soak.py --rate 20 [--seconds 600] [--database sqlite|postgres]
        [--server-command "...{python}...{port}..."]

`civicdesk serve` (default `--server-command`: with its worker and scheduler, tasks in the
database) runs as its own process on a fresh database seeded with the test catalogue. This
process sends contacts (unique external_id, own citizen, about 500 bytes) at `--rate` per second
for `--seconds`, open loop: each contact goes out when it is due, on an idle keep-alive
connection or a new one, whether or not earlier ones were answered; its latency counts from when
it was due. Choose the rate from `ingest_http.py`'s peak (the issue asks for half of it).

Then it waits until no payload is left waiting (received / processing) and checks the database:
every acknowledged contact (200/201/202) is stored once, processed, with the reference it was
answered with (if any) and one case of its own; no payload failed (a failed payload needs a
person to replay it). It exits 1 when any of that, or any error answer, is found.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import time
from collections import Counter
from typing import Any

from harness import load_note, machine_label
from ingest_support import (
    DEFAULT_POSTGRES_URL,
    free_port,
    fresh_database,
    running_server,
    seed_catalogue,
    setup_django,
)
from load_client import LoadResult, open_loop

DEFAULT_SOAK_COMMAND = "{python} -m civicdesk.cli serve --host 127.0.0.1 --port {port}"
TERMINAL = ("processed", "failed", "ignored")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=float, required=True, help="contacts per second")
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument(
        "--server-command",
        default=DEFAULT_SOAK_COMMAND,
        help="{python} and {port} are filled in (default: %(default)s).",
    )
    parser.add_argument("--task-backend", default="database", help="CIVICDESK_TASK_BACKEND")
    parser.add_argument("--redis-url", default="", help="REDIS_URL for the server (default none)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds per request")
    parser.add_argument("--max-connections", type=int, default=512)
    parser.add_argument("--drain-timeout", type=float, default=600)
    return parser.parse_args()


def progress(result: LoadResult, elapsed: float) -> None:
    print(
        f"  {elapsed:5.0f} s: {sum(result.statuses.values())} answered, "
        f"{result.acknowledged} acknowledged, {sum(result.errors.values())} errors, "
        f"p99 so far {result.percentile(99):.0f} ms",
        flush=True,
    )


def drain(timeout: float) -> tuple[float, int]:
    """Wait until no payload waits; returns (seconds waited, payloads still waiting)."""
    from django.db import connections

    from civicdesk.channels.models import InboundPayload

    started = time.monotonic()
    while True:
        waiting = InboundPayload.objects.exclude(status__in=TERMINAL).count()
        connections.close_all()
        if not waiting or time.monotonic() - started > timeout:
            return time.monotonic() - started, waiting
        time.sleep(1)


def audit(run: str, answers: dict[str, tuple[int, str]]) -> dict[str, Any]:
    """What became of the contacts: every acknowledged one must be one processed payload with
    one case of its own (and the reference it was answered with)."""
    from civicdesk.cases.models import Case
    from civicdesk.channels.models import InboundPayload

    payloads = InboundPayload.objects.filter(channel="api")
    by_contact: dict[str, list[tuple[str, str]]] = {}
    statuses: Counter[str] = Counter()
    for provider_id, status, reference in payloads.values_list(
        "provider_message_id", "status", "result_reference"
    ).iterator():
        statuses[status] += 1
        key = provider_id or ""
        at = key.find(f"{run}-")  # the id may be scoped (a prefix added)
        if at >= 0:
            by_contact.setdefault(key[at:], []).append((status, reference))
    problems: Counter[str] = Counter()
    references: Counter[str] = Counter()
    for external_id, (_, answered) in answers.items():
        stored = by_contact.get(external_id, [])
        if len(stored) != 1:
            problems["stored 0 times" if not stored else "stored more than once"] += 1
            continue
        status, reference = stored[0]
        if status != "processed" or not reference:
            problems[f"acknowledged but {status}"] += 1
        elif answered and answered != reference:
            problems["case reference differs from the one answered"] += 1
        else:
            references[reference] += 1
    existing = set(Case.objects.values_list("reference", flat=True).iterator())
    for reference, count in references.items():
        if reference not in existing:
            problems["its case does not exist"] += count
        elif count > 1:
            problems["shares its case with another contact"] += count
    return {
        "statuses": statuses,
        "problems": problems,
        "cases": sum(1 for reference in references if reference in existing),
        "unacknowledged_stored": len(set(by_contact) - set(answers)),
    }


def main() -> None:
    args = arguments()
    with fresh_database(
        args.database,
        postgres_url=args.postgres_url,
        task_backend=args.task_backend,
        redis_url=args.redis_url,
    ) as db:
        label = setup_django(db)
        token = seed_catalogue()
        print(f"CivicDesk soak on {label}; {machine_label()}", flush=True)
        print(f"server: {args.server_command} (tasks: {args.task_backend})", flush=True)
        print(f"offering {args.rate:g} contacts/s for {args.seconds:.0f} s, open loop", flush=True)
        port = free_port()
        run = f"soak{secrets.token_hex(3)}"
        log_path = db.var_dir.parent / f"civicdesk-bench-soak-{port}.log"
        with running_server(args.server_command, db, port=port, log_path=log_path):
            result = open_loop(
                port=port,
                token=token,
                run=run,
                rate=args.rate,
                seconds=args.seconds,
                max_connections=args.max_connections,
                timeout=args.timeout,
                progress=progress,
            )
            print("load over; waiting for the queue to drain", flush=True)
            drained_in, waiting = drain(args.drain_timeout)
        found = audit(run, result.answers)
        failed = found["statuses"].get("failed", 0)
        errors = sum(result.errors.values())
        sent = sum(result.statuses.values())
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(result.statuses.items()))
        print(
            f"\nsent {sent} at {args.rate:g}/s over {args.seconds:.0f} s, the last answer "
            f"{result.seconds:.0f} s after the first was sent; {answers}"
        )
        print(
            f"latency from when due: p50 {result.percentile(50):.1f} ms, "
            f"p99 {result.percentile(99):.1f} ms, max {result.percentile(100):.1f} ms; "
            f"the client used {100 * result.client_cpu_seconds / result.seconds:.0f} % of a core"
        )
        print(f"drained {drained_in:.0f} s after the load; still waiting: {waiting}")
        states = ", ".join(f"{k} {v}" for k, v in sorted(found["statuses"].items()))
        print(f"payloads: {states}; cases for acknowledged contacts: {found['cases']}")
        print(
            f"stored though not acknowledged (time-outs, errors): {found['unacknowledged_stored']}"
        )
        problems = found["problems"]
        print(
            f"acknowledged contacts not exactly one case: {sum(problems.values())} {dict(problems)}"
        )
        print(f"errors: {errors}; payloads needing a person (failed): {failed}")
        print(load_note())
        print(f"server output: {log_path}")
        ok = not errors and not failed and not waiting and not problems
        print("SOAK PASSED" if ok else "SOAK FAILED")
        if not ok:
            sys.exit(1)


if __name__ == "__main__":
    main()
