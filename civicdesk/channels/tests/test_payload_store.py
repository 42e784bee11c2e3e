"""Acknowledging is one durable write: the INSERT of the payload, its reference included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from civicdesk.cases.services.references import next_reference, reference_expression
from civicdesk.channels.models import InboundPayload
from civicdesk.channels.services import accept_inbound
from civicdesk.core.clock import now
from tests.factories import console_payload, portal_payload

pytestmark = pytest.mark.django_db


def _statements(context: CaptureQueriesContext) -> list[str]:
    return [query["sql"].split()[0].upper() for query in context.captured_queries]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)  # outside a test transaction, as a request runs
def test_on_postgresql_storing_a_payload_with_its_reference_is_one_statement(
    riverton: Any, settings: Any
) -> None:
    settings.TASK_BACKEND = "database"  # the ingest loop routes it: nothing is enqueued
    raw = portal_payload()
    with CaptureQueriesContext(connection) as context:
        acceptance = accept_inbound(channel="portal", raw=raw, reserve_reference=True)

    assert _statements(context) == ["INSERT"]
    stored = InboundPayload.objects.get(pk=acceptance.payload.pk)
    assert acceptance.payload.reference == stored.reference
    assert stored.reference.startswith("RIV-")


@pytest.mark.django_db(transaction=True)
def test_on_sqlite_the_counter_and_the_insert_are_one_transaction(
    riverton: Any, settings: Any
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's counter row")
    settings.TASK_BACKEND = "database"
    accept_inbound(channel="portal", raw=portal_payload(), reserve_reference=True)  # the year's row
    with CaptureQueriesContext(connection) as context:
        acceptance = accept_inbound(channel="portal", raw=portal_payload(), reserve_reference=True)
    assert [s for s in _statements(context) if s not in ("BEGIN", "COMMIT")] == [
        "UPDATE",
        "INSERT",
    ]
    assert acceptance.payload.reference.startswith("RIV-")


@pytest.mark.postgres_only
def test_the_sql_reference_is_formatted_as_python_formats_it(riverton: Any) -> None:
    at = now()
    python_made = next_reference(at=at)
    expression = reference_expression(at=at)
    assert expression is not None
    sql, (name, prefix, year) = expression
    assert sql == "cases_reference_text(%s, %s, %s)"
    with connection.cursor() as cursor:
        cursor.execute("SELECT cases_reference_text(%s, %s, %s)", [name, prefix, year])
        sql_made = cursor.fetchone()[0]
        # Past 999,999 the number grows a digit, as Python's :06d does, and is never cut.
        cursor.execute("SELECT setval(%s::regclass, 1234566)", [name])
        cursor.execute("SELECT cases_reference_text(%s, %s, %s)", [name, prefix, year])
        long_one = cursor.fetchone()[0]
    number = int(python_made.rsplit("-", 1)[1])
    assert sql_made == f"{prefix}-{year}-{number + 1:06d}"
    assert long_one == f"{prefix}-{year}-1234567"


def test_a_repeat_inside_the_callers_transaction_leaves_that_transaction_usable(
    riverton: Any,
) -> None:
    raw = console_payload(id="repeated-1")
    first = accept_inbound(channel="console", raw=raw)
    with transaction.atomic():  # as a webhook stores its replay key and the payload together
        again = accept_inbound(channel="console", raw=raw)
        assert again.is_duplicate
        assert again.payload.pk == first.payload.pk
        # The refused INSERT rolled back to its savepoint: the transaction still works.
        assert InboundPayload.objects.filter(pk=first.payload.pk).exists()
    assert InboundPayload.objects.count() == 1
    assert json.loads(bytes(InboundPayload.objects.get().body))["id"] == "repeated-1"


@pytest.mark.postgres_only
def test_the_numbering_insert_stores_every_column_as_the_orm_would(riverton: Any) -> None:
    from civicdesk.channels.contracts import RawPayload

    body = json.dumps({"from": "ana@mail.example", "text": "Bună ziua — ș ț", "id": "x-1"})
    raw = RawPayload(
        body=body.encode(), content_type="application/json", headers={"User-Agent": "ț/1"}
    )
    before = now()
    acceptance = accept_inbound(channel="console", raw=raw, reserve_reference=True)
    in_memory = acceptance.payload
    stored = InboundPayload.objects.get(pk=in_memory.pk)

    assert not in_memory._state.adding
    for field in InboundPayload._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(in_memory, field.attname), field.name
    assert bytes(stored.body) == body.encode()
    assert stored.headers == {"User-Agent": "ț/1"}
    assert stored.provider_message_id == "x-1"
    assert stored.channel == "console"
    assert stored.status == "received"
    assert stored.created_at >= before
    assert stored.updated_at >= before
    assert stored.reference.startswith("RIV-")


def test_a_content_type_longer_than_its_column_still_stores_the_payload(riverton: Any) -> None:
    from civicdesk.channels.contracts import RawPayload

    content_type = "application/x-" + "y" * 200  # a webhook's or a command's own Content-Type
    raw = RawPayload(body=console_payload().body, content_type=content_type)
    acceptance = accept_inbound(channel="console", raw=raw)

    stored = InboundPayload.objects.get(pk=acceptance.payload.pk)
    assert stored.content_type == content_type[:120]
    assert stored.status == "received"
