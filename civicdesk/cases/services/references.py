"""Case references: RIV-2026-000123, numbered per prefix and year.

A reference is allocated when a contact is acknowledged, before its case exists, so that the
citizen can quote it at once; the case opened later takes that same reference. Numbers only go
up and are never handed out twice. A number taken by a transaction that rolled back is not
reused, so the series may have gaps.

PostgreSQL: one sequence per prefix and year (`nextval` takes no row lock and never rolls
back, so concurrent acknowledgements do not queue behind each other). It starts after the
counter row's value, so that a database moved from the counter keeps counting up. SQLite: the
counter row, in the caller's transaction (SQLite has one writer at a time anyway).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from civicdesk.cases.models import ReferenceSequence

_TABLE = ReferenceSequence._meta.db_table
_SEQUENCE_PREFIX = "civicdesk_reference_"


def next_reference(*, at: datetime) -> str:
    """The next human-friendly reference for a contact acknowledged or a case opened at `at`."""
    prefix = settings.CIVICDESK_REFERENCE_PREFIX
    year = timezone.localtime(at).year
    if connection.vendor == "postgresql":
        number = _next_from_sequence(prefix, year)
    else:
        number = _next_from_counter(prefix, year)
    return f"{prefix}-{year}-{number:06d}"


def reference_expression(*, at: datetime) -> tuple[str, list[Any]] | None:
    """`next_reference(at=at)` as SQL and its parameters (PostgreSQL; None elsewhere), for an
    INSERT that allocates the reference itself: `cases_reference_text` (migration 0008)
    formats the sequence's next value as `next_reference` does, so one statement stores and
    numbers."""
    if connection.vendor != "postgresql":
        return None
    prefix = settings.CIVICDESK_REFERENCE_PREFIX
    year = timezone.localtime(at).year
    return "cases_reference_text(%s, %s, %s)", [sequence_name(prefix, year), prefix, year]


def next_references(*, at: list[datetime]) -> list[str]:
    """As many references as instants in `at`, in the same order, ascending for each year: a
    worker's batch opening cases for contacts acknowledged without one. One statement per year
    present (PostgreSQL), one or two (SQLite), instead of one or two per reference."""
    prefix = settings.CIVICDESK_REFERENCE_PREFIX
    years = [timezone.localtime(moment).year for moment in at]
    numbers: dict[int, list[int]] = {}
    for year in dict.fromkeys(years):
        count = years.count(year)
        if connection.vendor == "postgresql":
            numbers[year] = _many_from_sequence(prefix, year, count)
        else:
            last = _next_from_counter(prefix, year, count)
            numbers[year] = list(range(last - count + 1, last + 1))
    taken = {year: iter(found) for year, found in numbers.items()}
    return [f"{prefix}-{year}-{next(taken[year]):06d}" for year in years]


def _next_from_counter(prefix: str, year: int, count: int = 1) -> int:
    """The counter's new last value after taking `count` numbers. No savepoint inside the
    caller's transaction: a failure here fails it anyway."""
    with transaction.atomic(savepoint=False):
        number = _increment(prefix, year, count)
        if number is None:
            ReferenceSequence.objects.get_or_create(prefix=prefix, year=year)
            number = _increment(prefix, year, count)
    assert number is not None
    return number


def _increment(prefix: str, year: int, count: int = 1) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_TABLE} SET last_value = last_value + %s "  # noqa: S608 - our own table
            "WHERE prefix = %s AND year = %s RETURNING last_value",
            [count, prefix, year],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else None


def sequence_name(prefix: str, year: int) -> str:
    return _SEQUENCE_PREFIX + re.sub(r"[^a-z0-9]", "_", prefix.lower()) + f"_{year}"


def _next_from_sequence(prefix: str, year: int) -> int:
    """One round trip: `cases_next_reference` (migration 0007) takes the sequence's next
    value, creating the sequence after the counter's last value the first time."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cases_next_reference(%s, %s, %s)", [sequence_name(prefix, year), prefix, year]
        )
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _many_from_sequence(prefix: str, year: int, count: int) -> list[int]:
    """`count` numbers from the year's sequence in one round trip, ascending."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cases_next_reference(%s, %s, %s) FROM generate_series(1, %s)",
            [sequence_name(prefix, year), prefix, year, count],
        )
        return sorted(int(row[0]) for row in cursor.fetchall())


def restart_numbering() -> None:
    """Number from 000001 again, every prefix and year: the counter rows and, on PostgreSQL,
    the sequences go. Only for a database where nothing is numbered (no case, no reference
    reserved for a waiting contact): the caller checks."""
    ReferenceSequence.objects.all().delete()
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'S' AND pg_table_is_visible(oid) "
            "AND relname LIKE %s",
            [_SEQUENCE_PREFIX.replace("_", "\\_") + "%"],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP SEQUENCE IF EXISTS "{name}"')
