"""API contact ingest end to end over real HTTP, against the database's bare commit rate.

    .venv/bin/python benchmarks/api_ingest.py [--contacts 500] [--threads 4] [--server asgi|wsgi]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/api_ingest.py

A server runs in a thread on a free loopback port: uvicorn serving `config.asgi` as `civicdesk
serve` does, or a threaded WSGI server for `config.wsgi`. Contacts are POSTed to /api/v1/contacts
with a bearer token, one after another and then from a small thread pool; each answer (201 with
the case reference) comes after the payload was stored raw, processed into a case and routed.
The baseline is the same database's rate for one bare INSERT of a similar row per transaction,
measured in the same run: the ratio says how many plain commits one contact costs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from harness import load_note, machine_label, prepared_django

SUBJECTS = (
    ("noise", "Loud music every night", "The flat above plays loud music past midnight."),
    ("", "My bin was missed", "The bin on our street was not collected this morning."),
    ("", "Question about my account", "I moved house last month; who do I tell?"),
)


def start_server(kind: str) -> tuple[str, Callable[[], None]]:
    """Serve the project on loopback in a thread; returns (base URL, stop)."""
    # The harness has put the repository on the path: the tests' server helpers serve here too.
    from tests.browser import free_port, serve_asgi

    if kind == "asgi":
        # The same server the browser tests use: uvicorn with config.asgi, as `civicdesk serve`.
        stack = ExitStack()
        return stack.enter_context(serve_asgi()), stack.close
    port = free_port()
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from config.wsgi import application

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

    class Pooled(WSGIServer):
        """Requests on a fixed pool of threads, each keeping its database connection."""

        workers = ThreadPoolExecutor(max_workers=8)

        def process_request(self, request: Any, client_address: Any) -> None:
            self.workers.submit(self._handle, request, client_address)

        def _handle(self, request: Any, client_address: Any) -> None:
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

    httpd = make_server("127.0.0.1", port, application, server_class=Pooled, handler_class=Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()

    return f"http://127.0.0.1:{port}", stop


def contact(n: int, run: str) -> dict[str, Any]:
    """A contact as an integration sends it; a third name a service, the rest are free text."""
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


def post_all(client: Any, run: str, count: int, threads: int) -> tuple[float, list[float]]:
    """POST `count` contacts; returns (elapsed seconds, per-request latencies in ms)."""
    latencies: list[float] = []

    def post(n: int) -> None:
        started = time.perf_counter()
        response = client.post("/api/v1/contacts", json=contact(n, run))
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status_code != 201 or "reference" not in response.json():
            raise RuntimeError(f"contact {n}: {response.status_code} {response.text[:300]}")

    started = time.perf_counter()
    if threads == 1:
        for n in range(count):
            post(n)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(post, range(count)))
    return time.perf_counter() - started, latencies


def bare_insert_rate(count: int) -> float:
    """INSERTs of payload-sized rows into a scratch table, one transaction each, per second."""
    from django.db import connection, transaction

    serial = "BIGSERIAL" if connection.vendor == "postgresql" else "INTEGER"
    with connection.cursor() as cursor:
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


def statements_per_contact(token: str) -> int:
    """SQL statements one contact costs, counted in-process through the test client."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            "/api/v1/contacts", json.dumps(contact(0, "count")), content_type="application/json"
        )
    if response.status_code != 201:
        raise RuntimeError(f"{response.status_code} {response.content[:300]!r}")
    return len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--server", choices=("asgi", "wsgi"), default="asgi")
    args = parser.parse_args()

    with prepared_django() as database:
        import httpx

        from civicdesk.accounts.services import create_api_token
        from civicdesk.cases.models import Case
        from civicdesk.channels.models import InboundPayload, PayloadStatus
        from tests.factories import build_riverton

        print(f"CivicDesk API ingest benchmark on {database}; {machine_label()}")
        riverton = build_riverton()
        token = create_api_token(email=riverton.admin.email, name="benchmark").key
        base_url, stop = start_server(args.server)
        print(f"server: {args.server} on {base_url}; {args.contacts} contacts per run")
        headers = {"Authorization": f"Bearer {token}"}
        try:
            with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
                post_all(client, "warmup", 20, 1)
                results = {}
                for threads in (1, args.threads):
                    elapsed, latencies = post_all(client, f"t{threads}", args.contacts, threads)
                    results[threads] = (args.contacts / elapsed, latencies)
        finally:
            stop()

        expected = 20 + 2 * args.contacts
        routed = Case.objects.filter(channel="api", queue__isnull=False).count()
        processed = InboundPayload.objects.filter(status=PayloadStatus.PROCESSED).count()
        if routed != expected or processed != expected:
            raise SystemExit(
                f"expected {expected} routed cases, got {routed} ({processed} payloads)"
            )
        statements = statements_per_contact(token)
        raw_rate = bare_insert_rate(args.contacts)

        print(f"all {expected} contacts stored, processed and routed; {statements} SQL per contact")
        print(f"\n{'run':<22}{'contacts/s':>11}{'median ms':>11}{'p95 ms':>9}{'bare/ingest':>13}")
        for threads, (rate, latencies) in results.items():
            p95 = statistics.quantiles(latencies, n=20)[-1]
            label = "sequential" if threads == 1 else f"{threads} threads"
            print(
                f"{label:<22}{rate:>11.0f}{statistics.median(latencies):>11.1f}"
                f"{p95:>9.1f}{raw_rate / rate:>12.1f}x"
            )
        print(f"{'bare INSERT + commit':<22}{raw_rate:>11.0f}")
        print(load_note())


if __name__ == "__main__":
    main()
