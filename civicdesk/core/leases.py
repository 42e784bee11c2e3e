"""A lease in the database: at most one holder at a time, taken over once it expires.

Elects the one active `civicdesk scheduler` among several machines without anything but the
database they already share. Taking and renewing are the same single statement, an upsert whose
update only applies when the row is ours or has expired, so two contenders never both win, on
SQLite and on PostgreSQL alike (INSERT ... ON CONFLICT ... DO UPDATE ... WHERE ... RETURNING).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction

from civicdesk.core.models import SchedulerLease

_TABLE = SchedulerLease._meta.db_table


def take_lease(*, name: str, holder: str, duration: timedelta, now: datetime) -> bool:
    """Take or renew the lease `name` for `holder` until `now + duration`; True if held.

    False when someone else holds an unexpired lease (nothing is written then). One round trip;
    raises django.db.DatabaseError when the database is unavailable or locked past its timeout,
    which callers treat as "unknown" (see scheduler.Scheduler). `now` must be an aware datetime;
    contenders are assumed to have clocks within a small fraction of `duration` of each other.
    """
    table = connection.ops.quote_name(_TABLE)
    adapt = connection.ops.adapt_datetimefield_value
    sql = (
        f"INSERT INTO {table} (name, holder, expires_at) VALUES (%s, %s, %s) "  # noqa: S608
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
        "expires_at = excluded.expires_at "
        f"WHERE {table}.holder = excluded.holder OR {table}.expires_at <= %s "
        "RETURNING holder"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [name, holder, adapt(now + duration), adapt(now)])
        row = cursor.fetchone()
    return row is not None and row[0] == holder


def release_lease(*, name: str, holder: str, now: datetime) -> bool:
    """Give the lease up at once (a clean exit), so a standby need not wait for it to expire.

    Does nothing, and answers False, when `holder` no longer holds it.
    """
    released = SchedulerLease.objects.filter(name=name, holder=holder).update(expires_at=now)
    return released == 1
