"""Real temporary database faults for tests, on whichever engine the test runs on.

PostgreSQL: the server ends our connection (pg_terminate_backend, as a restart or an
administrator would), so the next statement fails. SQLite: another connection holds the write
lock for longer than our busy time-out (lowered for the test), so our next write fails with
"database is locked" until the other connection lets go.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection


@contextmanager
def one_temporary_fault(*, hold_seconds: float = 0.6) -> Iterator[None]:
    """The next database statement of this thread's connection fails with a temporary fault;
    statements after `hold_seconds` (SQLite) or on a new connection (PostgreSQL) succeed."""
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        pid = connection.connection.info.backend_pid
        settings = connection.settings_dict
        with psycopg.connect(
            host=settings["HOST"] or "127.0.0.1",
            port=int(settings["PORT"] or 5432),
            user=settings["USER"] or "postgres",
            dbname=settings["NAME"],
            autocommit=True,
        ) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        yield
        return
    options = connection.settings_dict.setdefault("OPTIONS", {})
    saved = options.get("timeout")
    connection.close()
    options["timeout"] = 0.05
    holder = sqlite3.connect(
        connection.settings_dict["NAME"], isolation_level=None, timeout=5, check_same_thread=False
    )
    holder.execute("BEGIN IMMEDIATE")
    released = threading.Timer(hold_seconds, lambda: holder.execute("ROLLBACK"))
    released.start()
    try:
        yield
    finally:
        released.join()
        holder.close()
        connection.close()
        if saved is None:
            options.pop("timeout", None)
        else:
            options["timeout"] = saved


def end_other_connections() -> int:
    """PostgreSQL: end every other session on this test database (as a server restart would);
    answers how many were ended."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0
