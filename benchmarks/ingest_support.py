"""What the ingest-at-scale benchmarks share: a fresh database, the server as a subprocess, the
contacts sent, the bare INSERT + commit baseline, and SQL statement/commit counting (the load
client is in `load_client.py`).

Unlike `harness.py` (one process, Django set up in it), these benchmarks run the server the way
an operator does — `civicdesk serve` or any other command line — in its own process, and drive it
from this one. Django is still set up here, on the same database, to seed it and to check it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/bench"
DEFAULT_SERVER_COMMAND = (
    "{python} -m civicdesk.cli serve --no-worker --no-scheduler --host 127.0.0.1 --port {port}"
)
PADDING = (
    "We have reported this before and would be grateful if someone could look at it soon. "
    "The problem started on Monday and has happened every day since; neighbours agree. "
)


# --- A fresh database -----------------------------------------------------------------------


@dataclass
class BenchDatabase:
    kind: str  # "sqlite" or "postgres"
    var_dir: Path
    env: dict[str, str]  # what the server, the worker and this process run with
    postgres_url: str = ""

    @property
    def sqlite_path(self) -> Path:
        return self.var_dir / "civicdesk.sqlite3"

    def subprocess_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(self.env)
        return env


def _admin_connection(url: str) -> Any:
    import psycopg

    parts = urlsplit(url.replace("postgres://", "postgresql://", 1))
    return psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True)


def _database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name.isidentifier() or name == "postgres" or name.startswith("template"):
        raise SystemExit(f"refusing to drop and recreate the database {name!r}: name another")
    return name


@contextlib.contextmanager
def fresh_database(
    kind: str, *, postgres_url: str, task_backend: str, redis_url: str = ""
) -> Iterator[BenchDatabase]:
    """A new, empty database (SQLite in a temporary folder, or the PostgreSQL database named in
    `postgres_url`, dropped and created again), removed at the end."""
    var_dir = Path(tempfile.mkdtemp(prefix="civicdesk-bench-"))
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CIVICDESK_VAR_DIR": str(var_dir),
        # One key for this process and the servers, workers and commands it starts: a process
        # that imported pytest (the Dovecot launcher) counts as a test run and writes no key
        # file, so a `civicdesk email poll` started from it could not read the account's
        # encrypted IMAP password.
        "CIVICDESK_SECRET_KEY": secrets.token_urlsafe(50),
        "CIVICDESK_TASK_BACKEND": task_backend,
        "CIVICDESK_LOG_LEVEL": os.environ.get("CIVICDESK_LOG_LEVEL", "WARNING"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    name = ""
    if kind == "postgres":
        name = _database_name(postgres_url)
        with _admin_connection(postgres_url) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {name}")
        env["DATABASE_URL"] = postgres_url
    try:
        yield BenchDatabase(kind=kind, var_dir=var_dir, env=env, postgres_url=postgres_url)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if name:
            with _admin_connection(postgres_url) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        shutil.rmtree(var_dir, ignore_errors=True)


def setup_django(db: BenchDatabase) -> str:
    """Django in this process on the benchmark's database, migrated; returns its label."""
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ.update(db.env)
    sys.path.insert(0, str(REPO))  # for `tests.factories`
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
        cursor.execute("SELECT sqlite_version()")
        return f"SQLite {cursor.fetchone()[0]} (WAL)"


def seed_catalogue() -> str:
    """The test catalogue (teams, queues, services, SLA policy, staff); returns an API key."""
    from django.db import connections

    from civicdesk.accounts.services import create_api_token
    from tests.factories import build_riverton

    riverton = build_riverton()
    key = create_api_token(email=riverton.admin.email, name="benchmark").key
    connections.close_all()
    return key


# --- The contacts sent ----------------------------------------------------------------------

SERVICES = ("missed-bin", "noise", "pothole", "")


def contact_body(run: str, n: int) -> bytes:
    """A contact of about 500 bytes with a unique external_id and its own citizen, so that
    every contact opens one case of its own."""
    service = SERVICES[n % len(SERVICES)]
    data: dict[str, Any] = {
        "external_id": f"{run}-{n}",
        "citizen": {"name": f"Resident {n}", "email": f"resident-{run}-{n}@mail.example"},
        "subject": "Problem on our street",
        "body": f"Contact {n}: {PADDING}{PADDING}",
    }
    if service:
        data["service_code"] = service
    if service == "missed-bin":
        data["answers"] = {"bin_type": "general", "address": f"{n % 90 + 1} River Street"}
    elif service == "pothole":
        data["answers"] = {"location": f"Outside {n % 90 + 1} Bridge Road", "depth_cm": 8}
    return json.dumps(data).encode()


# --- The server as a subprocess -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_process(
    command: str, db: BenchDatabase, *, log_path: Path, port: int = 0
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `command` ({python} and {port} filled in), with `port` wait until it answers HTTP,
    and stop it with SIGTERM (SIGKILL after 15 s) at the end; its output goes to `log_path`."""
    argv = shlex.split(command.format(python=sys.executable, port=port))
    with log_path.open("wb") as log:
        # A process group of its own: its worker and scheduler children are stopped with it.
        process = subprocess.Popen(  # noqa: S603 - the operator's own command line
            argv,
            cwd=REPO,
            env=db.subprocess_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            if port:
                _wait_until_serving(process, port, log_path)
            yield process
        finally:
            _stop(process)


def running_server(
    command: str, db: BenchDatabase, *, port: int, log_path: Path
) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    return running_process(command, db, log_path=log_path, port=port)


def _wait_until_serving(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited ({process.returncode}):\n{log_path.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as s:
            s.sendall(b"GET /api/v1/docs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            if s.recv(12).startswith(b"HTTP/1."):
                return
        time.sleep(0.2)
    raise SystemExit(f"server not answering on port {port} after 60 s:\n{log_path.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- The baseline: bare INSERT + commit -----------------------------------------------------

RAW_TABLE = "bench_raw_payload"


def raw_insert_rate(db: BenchDatabase, *, threads: int, seconds: float) -> float:
    """Rows per second that `threads` Python clients (psycopg / sqlite3, one connection each)
    insert into a table shaped like the stored payload, one commit per row."""
    body = contact_body("raw", 0)
    setup = _raw_connection(db)
    serial = "BIGSERIAL" if db.kind == "postgres" else "INTEGER"
    blob = "BYTEA" if db.kind == "postgres" else "BLOB"
    for statement in (
        f"DROP TABLE IF EXISTS {RAW_TABLE}",
        f"CREATE TABLE {RAW_TABLE} (id {serial} PRIMARY KEY, channel VARCHAR(30), "
        "provider_message_id VARCHAR(255), content_type VARCHAR(120), status VARCHAR(20), "
        f"body {blob}, created_at TIMESTAMP)",
    ):
        setup.execute(statement)
        setup.commit()
    marker = "%s" if db.kind == "postgres" else "?"
    insert = (
        f"INSERT INTO {RAW_TABLE} (channel, provider_message_id, content_type, status, body, "
        f"created_at) VALUES ({', '.join([marker] * 5)}, CURRENT_TIMESTAMP)"
    )
    counts = [0] * threads
    start = threading.Barrier(threads + 1)

    def client(index: int, deadline_box: list[float]) -> None:
        connection = _raw_connection(db)
        start.wait()
        n = 0
        while time.perf_counter() < deadline_box[0]:
            if db.kind == "sqlite":
                connection.execute("BEGIN IMMEDIATE")
            connection.execute(insert, ("api", f"raw-{index}-{n}", "application/json", "r", body))
            connection.commit()
            n += 1
        counts[index] = n
        connection.close()

    deadline_box = [0.0]
    workers = [
        threading.Thread(target=client, args=(i, deadline_box), daemon=True) for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    deadline_box[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    setup.execute(f"DROP TABLE {RAW_TABLE}")
    setup.commit()
    setup.close()
    return sum(counts) / elapsed


def _raw_connection(db: BenchDatabase) -> Any:
    if db.kind == "postgres":
        import psycopg

        return psycopg.connect(db.postgres_url.replace("postgres://", "postgresql://", 1))
    # As the project's settings open it: WAL, synchronous=NORMAL, a busy timeout.
    connection = sqlite3.connect(db.sqlite_path, timeout=20, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return _SqliteCommits(connection)


class _SqliteCommits:
    """sqlite3 in autocommit mode with explicit BEGIN IMMEDIATE / COMMIT, as Django does."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.connection.execute(sql, params)

    def commit(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


# --- Counting SQL statements and commits ----------------------------------------------------


@dataclass
class SqlCount:
    statements: int = 0  # every statement sent, savepoints excluded
    savepoints: int = 0  # SAVEPOINT / RELEASE / ROLLBACK TO statements
    atomic_commits: int = 0  # outermost atomic blocks committed (connection.commit())
    autocommit_statements: int = 0  # statements outside atomic: each its own transaction
    autocommit_writes: int = 0  # of those, INSERT / UPDATE / DELETE

    @property
    def commits(self) -> int:
        """Every transaction committed, reads under autocommit included."""
        return self.atomic_commits + self.autocommit_statements

    @property
    def write_commits(self) -> int:
        """Transactions that wrote: the ones the database must make durable."""
        return self.atomic_commits + self.autocommit_writes

    def per(self, n: int) -> str:
        return (
            f"{self.statements / n:.1f} SQL statements (+{self.savepoints / n:.1f} savepoint "
            f"statements); {self.commits / n:.1f} commits = {self.atomic_commits / n:.1f} "
            f"atomic blocks + {self.autocommit_statements / n:.1f} autocommit statements, "
            f"{self.write_commits / n:.1f} of them write"
        )


@contextlib.contextmanager
def counting_sql() -> Iterator[SqlCount]:
    """Count what the default connection sends. A statement outside `atomic()` runs in
    autocommit mode and is its own transaction (a commit); an outermost atomic block that
    ends well is one commit (Django calls `connection.commit()`)."""
    from django.db import connection

    count = SqlCount()

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if verb in ("SAVEPOINT", "RELEASE") or sql.lstrip().upper().startswith("ROLLBACK TO"):
            count.savepoints += 1
        else:
            count.statements += 1
            if not connection.in_atomic_block and connection.get_autocommit():
                count.autocommit_statements += 1
                if verb in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
                    count.autocommit_writes += 1
        return execute(sql, params, many, context)

    connection.ensure_connection()
    original_commit = connection.commit

    def commit() -> None:
        count.atomic_commits += 1
        original_commit()

    connection.commit = commit  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(wrapper):
            yield count
    finally:
        del connection.commit  # back to the class's method
