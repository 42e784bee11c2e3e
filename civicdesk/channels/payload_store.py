"""The one durable write that acknowledges an inbound payload.

Storing a payload is the whole of an acknowledgement, so it is kept to one statement where the
database allows: the INSERT also allocates the payload's case reference (SQL the numbering
domain registers; PostgreSQL) and returns it, under autocommit, with no transaction around it
and no lookup before it. A provider id seen before is found by the unique constraint refusing
the INSERT (IntegrityError for the caller), not by a SELECT on every contact. Where the
reference cannot be allocated in SQL (SQLite's counter row), it is allocated first, in the
same transaction as the INSERT.

That INSERT is written here rather than by `objects.create`: it is the hot path of every
acknowledgement, and measured on PostgreSQL the ORM's compilation of this 20-column INSERT
cost about 0.52 ms of CPU per contact against 0.16 ms for the same statement sent directly
(`benchmarks/ingest_http.py`; docs/performance.md); for an email's payload on SQLite, 0.45 ms
against 0.31 ms (`benchmarks/email_ingest.py`). The statement is built once from the
model's own fields, and each value is prepared by its field exactly as the ORM prepares it
(`pre_save`, `get_db_prep_save`), so a new column needs no change here.
"""

from __future__ import annotations

import contextlib
import functools
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Field

from civicdesk.channels import registry
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.core.clock import now


class SupersedeRaced(Exception):
    """The failed payload to supersede changed under us (replayed, or superseded already)."""


def store_payload(
    *, fields: dict[str, Any], reserve_reference: bool, at: datetime | None
) -> InboundPayload:
    """INSERT one payload (`fields`: its columns but the reference), with a new reference when
    `reserve_reference`. Raises IntegrityError when its provider id is held already."""
    if not reserve_reference:
        # The same direct INSERT without a reference (its column's default, ""): the email
        # listener's path, where it was a fifth of an acknowledgement's time through the ORM.
        with _savepoint_if_nested():
            return _insert_numbered(fields, ("%s", [""]))
    moment = at or now()
    expression = registry.reference_expression(moment)
    if expression is not None:
        # One statement: the INSERT numbers the payload and returns the reference.
        with _savepoint_if_nested():
            return _insert_numbered(fields, expression)
    with transaction.atomic():
        return InboundPayload.objects.create(
            reference=registry.allocate_reference(moment), **fields
        )


def _insert_numbered(fields: dict[str, Any], reference: tuple[str, list[Any]]) -> InboundPayload:
    """INSERT ... VALUES (..., <reference SQL>) RETURNING id, reference: one round trip."""
    payload = InboundPayload(**fields)
    columns = _numbered_insert_columns()
    values = [
        field.get_db_prep_save(field.pre_save(payload, True), connection) for field in columns
    ]
    sql_reference, reference_params = reference
    with connection.cursor() as cursor:
        cursor.execute(_numbered_insert_sql(sql_reference), [*values, *reference_params])
        row = cursor.fetchone()
    assert row is not None
    payload.pk, payload.reference = row[0], row[1]
    payload._state.adding = False
    payload._state.db = connection.alias
    return payload


@functools.cache
def _numbered_insert_columns() -> tuple[Field[Any, Any], ...]:
    return tuple(
        field
        for field in InboundPayload._meta.concrete_fields
        if not field.primary_key and field.attname != "reference"
    )


@functools.cache
def _numbered_insert_sql(sql_reference: str) -> str:
    quote = connection.ops.quote_name
    meta = InboundPayload._meta
    columns = _numbered_insert_columns()
    names = ", ".join(quote(field.column) for field in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    reference = quote(meta.get_field("reference").column)
    return (
        f"INSERT INTO {quote(meta.db_table)} ({names}, {reference}) "  # noqa: S608 - our names
        f"VALUES ({placeholders}, {sql_reference}) RETURNING {quote(meta.pk.column)}, {reference}"
    )


def _savepoint_if_nested() -> AbstractContextManager[object]:
    """Inside the caller's transaction (a webhook's, with its replay key): a savepoint, so that
    a refused INSERT leaves that transaction usable for finding the earlier payload. Under
    autocommit nothing: one statement is its own transaction, without BEGIN and COMMIT."""
    if transaction.get_connection().in_atomic_block:
        return transaction.atomic()
    return contextlib.nullcontext()


def store_superseding(
    *, fields: dict[str, Any], superseding: InboundPayload, reserve_reference: bool
) -> InboundPayload:
    """A corrected resend of a payload that failed: the failed one gives up its provider id
    (kept, visible, `superseded_by` the new one) and its reference to the new one, in one
    transaction. Raises SupersedeRaced if it is no longer a failed payload holding the id."""
    with transaction.atomic():
        moment = now()
        released = InboundPayload.objects.filter(
            pk=superseding.pk, status=PayloadStatus.FAILED, superseded_at__isnull=True
        ).update(superseded_at=moment, updated_at=moment)
        if not released:
            raise SupersedeRaced
        reference = superseding.reference
        if not reference and reserve_reference:
            reference = registry.allocate_reference(moment)
        payload = InboundPayload.objects.create(reference=reference, **fields)
        InboundPayload.objects.filter(pk=superseding.pk).update(superseded_by=payload)
    return payload
