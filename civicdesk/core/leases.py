"""A lease in the database: at most one holder at a time, taken over once it expires.

Elects the one active `civicdesk scheduler` among several machines without anything but the
database they already share. Taking and renewing are the same single statement, an upsert whose
update only applies when the row is ours or has expired, so two contenders never both win, on
SQLite and on PostgreSQL alike (INSERT ... ON CONFLICT ... DO UPDATE ... WHERE ... RETURNING).

Every time in a lease is the database's clock, read inside that statement: the expiry written
and the expiry compared against come from the one clock all contenders share, so a contender
whose own clock runs fast cannot take over a lease that is still live.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connection, transaction

from civicdesk.core.models import SchedulerLease

_TABLE = SchedulerLease._meta.db_table


def _database_clock(offset: str) -> tuple[str, str]:
    """SQL for (the database's now + `offset`, a comparable now) on this connection.

    `offset` is a placeholder bound to `_offset(...)`'s value. Django stores aware datetimes
    on SQLite as UTC text, which `strftime(..., 'now')` writes in the same form.
    """
    if connection.vendor == "sqlite":
        return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', 'now', {offset})", "julianday('now')"
    if connection.vendor == "postgresql":
        return f"statement_timestamp() + make_interval(secs => {offset})", "statement_timestamp()"
    raise NotImplementedError(f"Leases need SQLite or PostgreSQL, not {connection.vendor}")


def _offset(duration: timedelta) -> str | float:
    seconds = duration.total_seconds()
    return f"{seconds:+.6f} seconds" if connection.vendor == "sqlite" else seconds


def _expires_at(table: str) -> str:
    column = f"{table}.expires_at"
    return f"julianday({column})" if connection.vendor == "sqlite" else column


def take_lease(*, name: str, holder: str, duration: timedelta) -> bool:
    """Take or renew the lease `name` for `holder` until the database's now + `duration`.

    True if held; False when someone else holds an unexpired lease (nothing is written then).
    One round trip; raises django.db.DatabaseError when the database is unavailable or locked
    past its timeout, which callers treat as "unknown" (see scheduler.Scheduler). The caller's
    own clock plays no part, so contenders' clocks need not agree.
    """
    table = connection.ops.quote_name(_TABLE)
    until, now = _database_clock("%s")
    sql = (
        f"INSERT INTO {table} (name, holder, expires_at) VALUES (%s, %s, {until}) "  # noqa: S608
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
        "expires_at = excluded.expires_at "
        f"WHERE {table}.holder = excluded.holder OR {_expires_at(table)} <= {now} "
        "RETURNING holder"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [name, holder, _offset(duration)])
        row = cursor.fetchone()
    return row is not None and row[0] == holder


def release_lease(*, name: str, holder: str) -> bool:
    """Give the lease up at once (a clean exit), so a standby need not wait for it to expire.

    Sets its expiry to the database's now. Does nothing, and answers False, when `holder` no
    longer holds it.
    """
    table = connection.ops.quote_name(_TABLE)
    until, _ = _database_clock("%s")
    sql = f"UPDATE {table} SET expires_at = {until} WHERE name = %s AND holder = %s"  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [_offset(timedelta(0)), name, holder])
        released: int = cursor.rowcount
    return released == 1
