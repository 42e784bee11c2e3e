"""Admission on an adapter's sketch: stored received without the full read, read by the worker.

`ChannelAdapter.sketch` gives the provider id and the sender from a cheap read; the framework
stores the payload on it (deduplicated, rate-limited, own identity ignored) and the worker's
processing reads it in full. A payload whose full read then fails is recorded failed with the
reason, as the intake records one (visible, replayable); an adapter without a sketch, and
callers that process now, are read in full at intake as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from civicdesk.cases.models import Case
from civicdesk.channels import guards, registry
from civicdesk.channels.contracts import (
    ChannelAdapter,
    DeliveryResult,
    InboundMessage,
    InboundSketch,
    InvalidPayload,
    NoMessage,
    OutgoingMessage,
    RawPayload,
    SenderContact,
    json_object,
    text_field,
)
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.channels.services import (
    accept_inbound,
    process_payload,
    process_waiting,
    replay_payload,
)
from civicdesk.core.clock import now

pytestmark = pytest.mark.django_db

OURS = "+40700000000"


class SketchedAdapter(ChannelAdapter):
    """A test channel whose sketch reads only `id` and `from`; its full read also wants
    `text` (a payload without it sketches, then fails in the worker), and `receipt` marks a
    payload that carries no message. Counts its reads."""

    kind = "testsketch"
    label = "Test sketch"
    recipient_kinds = ("phone",)
    sketches: ClassVar[bool] = True
    full_reads: ClassVar[int] = 0

    def sketch(self, payload: RawPayload) -> InboundSketch | None:
        if not type(self).sketches:
            return None
        data = json.loads(payload.body)
        return InboundSketch(
            provider_message_id=data["id"],
            sender=(SenderContact(kind="phone", value=data["from"]),),
        )

    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        type(self).full_reads += 1
        data = json_object(payload)
        if data.get("receipt"):
            raise NoMessage("a receipt")
        return InboundMessage(
            channel=self.kind,
            provider_message_id=text_field(data, "id", required=True),
            body=text_field(data, "text", required=True),
            sender=(SenderContact(kind="phone", value=text_field(data, "from", required=True)),),
        )

    def send(self, message: OutgoingMessage, config: Any) -> DeliveryResult:
        return DeliveryResult.sent()

    def own_identities(self, config: Any) -> tuple[str, ...]:
        return (OURS,)


@pytest.fixture
def channel() -> Iterator[None]:
    SketchedAdapter.full_reads = 0
    SketchedAdapter.sketches = True
    with registry.override_adapters(SketchedAdapter), override_settings(TASK_BACKEND="database"):
        yield


def raw(message_id: str, sender: str = "+40711111111", **data: Any) -> RawPayload:
    return RawPayload(body=json.dumps({"id": message_id, "from": sender, **data}).encode())


def test_a_sketched_payload_is_stored_received_unread_and_the_worker_reads_it(
    riverton: Any, channel: None
) -> None:
    acceptance = accept_inbound(channel="testsketch", raw=raw("m-1", text="Lamp out"))
    assert SketchedAdapter.full_reads == 0
    stored = acceptance.payload
    assert (stored.status, stored.provider_message_id) == (PayloadStatus.RECEIVED, "m-1")
    assert stored.sender_identity == "phone:+40711111111"
    assert stored.processed_at is None
    assert process_waiting() == 1
    assert SketchedAdapter.full_reads >= 1
    stored.refresh_from_db()
    assert stored.status == PayloadStatus.PROCESSED
    assert stored.result_reference == Case.objects.get().reference


def test_the_same_provider_id_again_is_a_duplicate_before_and_after_processing(
    riverton: Any, channel: None
) -> None:
    first = accept_inbound(channel="testsketch", raw=raw("m-1", text="Lamp out"))
    assert accept_inbound(channel="testsketch", raw=raw("m-1", text="Lamp out")).is_duplicate
    process_payload(payload_id=first.payload.pk)
    again = accept_inbound(channel="testsketch", raw=raw("m-1", text="Lamp out"))
    assert again.is_duplicate
    assert again.payload.pk == first.payload.pk
    assert (InboundPayload.objects.count(), Case.objects.count()) == (1, 1)


def test_a_payload_the_worker_cannot_read_is_failed_with_the_reason_and_replayable(
    riverton: Any, channel: None
) -> None:
    acceptance = accept_inbound(channel="testsketch", raw=raw("m-1"))  # no text
    assert acceptance.payload.status == PayloadStatus.RECEIVED
    assert process_waiting() == 1
    failed = InboundPayload.objects.get()
    assert failed.status == PayloadStatus.FAILED
    # The reason the intake records for a payload it cannot read, no traceback.
    assert failed.error == "Invalid payload: 'text' is required"
    assert Case.objects.count() == 0
    # The adapter is fixed (here: it reads a default text); the replay parses it again.
    InboundPayload.objects.filter(pk=failed.pk).update(body=raw("m-1", text="Lamp out").body)
    assert replay_payload(payload_id=failed.pk).status == PayloadStatus.PROCESSED
    assert Case.objects.count() == 1


def test_the_single_payload_path_records_the_same_failure(riverton: Any, channel: None) -> None:
    acceptance = accept_inbound(channel="testsketch", raw=raw("m-1"))
    processed = process_payload(payload_id=acceptance.payload.pk).payload
    assert processed.status == PayloadStatus.FAILED
    assert processed.error == "Invalid payload: 'text' is required"


def test_a_sketched_payload_that_carries_no_message_is_done_without_a_case(
    riverton: Any, channel: None
) -> None:
    accept_inbound(channel="testsketch", raw=raw("r-1", receipt=True))
    assert process_waiting() == 1
    stored = InboundPayload.objects.get()
    assert (stored.status, stored.error, stored.result_reference) == (
        PayloadStatus.PROCESSED,
        "",
        "",
    )
    assert Case.objects.count() == 0


def test_our_own_identity_is_ignored_on_the_sketch(riverton: Any, channel: None) -> None:
    acceptance = accept_inbound(channel="testsketch", raw=raw("echo-1", sender=OURS, text="x"))
    assert acceptance.payload.status == PayloadStatus.IGNORED
    assert SketchedAdapter.full_reads == 0
    assert process_waiting() == 0


@override_settings(CIVICDESK_INBOUND_RATE_LIMIT=2, CIVICDESK_INBOUND_RATE_WINDOW_SECONDS=60)
def test_a_sender_over_the_limit_is_throttled_on_the_sketch(riverton: Any, channel: None) -> None:
    for n in range(3):
        accept_inbound(channel="testsketch", raw=raw(f"m-{n}", text="x"))
    accept_inbound(channel="testsketch", raw=raw("o-1", sender="+40722222222", text="x"))
    statuses = dict(InboundPayload.objects.values_list("provider_message_id", "status"))
    assert statuses == {
        "m-0": PayloadStatus.RECEIVED,
        "m-1": PayloadStatus.RECEIVED,
        "m-2": PayloadStatus.THROTTLED,
        "o-1": PayloadStatus.RECEIVED,
    }
    assert SketchedAdapter.full_reads == 0


def test_without_a_sketch_or_when_processing_now_the_payload_is_read_in_full(
    riverton: Any, channel: None
) -> None:
    accept_inbound(channel="testsketch", raw=raw("m-1", text="x"), process_now=True)
    assert SketchedAdapter.full_reads == 1  # one read, handed to the processing
    SketchedAdapter.sketches = False
    failed = accept_inbound(channel="testsketch", raw=raw("m-2")).payload
    assert SketchedAdapter.full_reads == 2
    assert (failed.status, failed.error) == (
        PayloadStatus.FAILED,
        "Invalid payload: 'text' is required",
    )


def test_a_sketch_that_raises_falls_back_to_the_full_read(riverton: Any, channel: None) -> None:
    acceptance = accept_inbound(channel="testsketch", raw=RawPayload(body=b"not json"))
    assert SketchedAdapter.full_reads == 1
    assert acceptance.payload.status == PayloadStatus.FAILED
    assert acceptance.payload.error.startswith("Invalid payload: body is not valid JSON")


def _stored(sender: str, *, ago: timedelta, channel: str = "testsketch") -> None:
    stored = InboundPayload.objects.create(channel=channel, sender_identity=sender, body=b"{}")
    InboundPayload.objects.filter(pk=stored.pk).update(created_at=now() - ago)


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_the_rate_limit_is_reached_at_exactly_the_limit_within_the_window(limit: int) -> None:
    window = guards.rate_window()
    _stored("phone:1", ago=window + timedelta(seconds=5))  # outside the window
    _stored("phone:1", ago=timedelta(seconds=1), channel="other")  # another channel
    _stored("phone:2", ago=timedelta(seconds=1))  # another sender
    for n in range(limit):
        assert guards.over_limit("testsketch", "phone:1", limit=limit) is False, n
        _stored("phone:1", ago=timedelta(seconds=1))
    assert guards.over_limit("testsketch", "phone:1", limit=limit) is True
    _stored("phone:1", ago=timedelta(seconds=1))
    assert guards.over_limit("testsketch", "phone:1", limit=limit) is True


def test_the_rate_limit_reads_at_most_the_limit_of_the_senders_payloads() -> None:
    """Asked as "does the limit-th exist" (LIMIT 1 OFFSET limit-1) on the sender's index, not
    as a COUNT of the window: bounded by the limit however much a sender sent."""
    with CaptureQueriesContext(connection) as queries:
        guards.over_limit("email", "email:ann@example.org", limit=20)
    (query,) = queries.captured_queries
    sql = query["sql"]
    assert "COUNT(" not in sql.upper()
    assert "LIMIT 1 OFFSET 19" in sql
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql)
        plan = " ".join(str(row) for row in cursor.fetchall())
    if connection.vendor == "sqlite":
        assert "inbound_payload_sender_recent" in plan
    else:
        assert "Index" in plan


def test_invalid_payload_is_what_the_full_read_raises() -> None:
    """Guards the test adapter itself: a payload without text is unreadable in full."""
    with pytest.raises(InvalidPayload):
        SketchedAdapter().parse_inbound(raw("m-1"))
