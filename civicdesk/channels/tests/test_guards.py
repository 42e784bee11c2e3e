"""Loop protection and per-sender rate limits on inbound: nothing is ever lost."""

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from civicdesk.cases.models import Case
from civicdesk.channels import registry
from civicdesk.channels.contracts import (
    ChannelAdapter,
    DeliveryResult,
    InboundMessage,
    OutgoingMessage,
    RawPayload,
    SenderContact,
    json_object,
    text_field,
)
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.channels.services import accept_inbound, replay_payload, sweep
from civicdesk.core.errors import DomainError
from tests.factories import console_payload

pytestmark = pytest.mark.django_db

OUR_NUMBER = "+40700000000"


class TextAdapter(ChannelAdapter):
    """A conversational test channel; counts how often it parses."""

    kind = "testsms"
    label = "Test SMS"
    threads_by_sender = True
    recipient_kinds = ("phone",)
    parses: ClassVar[int] = 0

    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        type(self).parses += 1
        data = json_object(payload)
        return InboundMessage(
            channel=self.kind,
            provider_message_id=text_field(data, "id", required=True),
            body=text_field(data, "text", required=True),
            sender=(SenderContact(kind="phone", value=text_field(data, "from", required=True)),),
            is_automated=data.get("auto") is True,
        )

    def send(self, message: OutgoingMessage, config: Any) -> DeliveryResult:
        return DeliveryResult.sent()

    def own_identities(self, config: Any) -> tuple[str, ...]:
        return (OUR_NUMBER,)


@pytest.fixture
def text_channel() -> Iterator[None]:
    TextAdapter.parses = 0
    with registry.override_adapters(TextAdapter):
        yield


def _raw(message_id: str, sender: str = "+40711111111", **extra: Any) -> RawPayload:
    data = {"id": message_id, "from": sender, "text": f"Message {message_id}", **extra}
    return RawPayload(body=json.dumps(data).encode())


def test_accepting_and_processing_parse_once_and_return_the_outcome(
    riverton: Any, text_channel: None
) -> None:
    acceptance = accept_inbound(channel="testsms", raw=_raw("m-1"), process_now=True)
    assert TextAdapter.parses == 1
    case = Case.objects.get()
    assert acceptance.outcome == registry.InboundOutcome(case_reference=case.reference, opened=True)
    assert acceptance.payload.result_reference == case.reference


def test_an_automated_message_is_processed_and_its_outcome_says_so(
    riverton: Any, text_channel: None
) -> None:
    acceptance = accept_inbound(channel="testsms", raw=_raw("m-1", auto=True), process_now=True)
    assert acceptance.payload.status == PayloadStatus.PROCESSED
    assert acceptance.outcome is not None
    assert acceptance.outcome.automated is True
    assert acceptance.outcome.case_reference == Case.objects.get().reference


def test_our_own_message_echoed_back_is_stored_and_ignored(
    riverton: Any, text_channel: None
) -> None:
    raw = _raw("echo-1", sender=OUR_NUMBER)
    acceptance = accept_inbound(channel="testsms", raw=raw, process_now=True)
    stored = InboundPayload.objects.get()
    assert stored.status == PayloadStatus.IGNORED
    assert bytes(stored.body) == raw.body
    assert stored.error.startswith("Sent from the account's own identity")
    assert acceptance.outcome is None
    assert Case.objects.count() == 0
    with pytest.raises(DomainError):
        replay_payload(payload_id=stored.pk)
    assert InboundPayload.objects.get().status == PayloadStatus.IGNORED


@override_settings(CIVICDESK_INBOUND_RATE_LIMIT=2, CIVICDESK_INBOUND_RATE_WINDOW_SECONDS=60)
def test_a_sender_over_the_limit_is_throttled_then_released_by_the_sweep(
    riverton: Any, text_channel: None
) -> None:
    for n in range(4):
        accept_inbound(channel="testsms", raw=_raw(f"m-{n}"), process_now=True)
    accept_inbound(channel="testsms", raw=_raw("other-1", sender="+40722222222"), process_now=True)
    statuses = dict(InboundPayload.objects.values_list("provider_message_id", "status"))
    assert statuses == {
        "m-0": PayloadStatus.PROCESSED,
        "m-1": PayloadStatus.PROCESSED,
        "m-2": PayloadStatus.THROTTLED,
        "m-3": PayloadStatus.THROTTLED,
        "other-1": PayloadStatus.PROCESSED,
    }
    held = InboundPayload.objects.get(provider_message_id="m-2")
    assert held.error.startswith("Over the limit of 2 messages from this sender in 60 s")
    assert held.sender_identity == "phone:+40711111111"
    assert sweep().payloads_enqueued == 0  # the window has not passed: still held
    assert InboundPayload.objects.filter(status=PayloadStatus.THROTTLED).count() == 2

    InboundPayload.objects.filter(status=PayloadStatus.THROTTLED).update(
        held_until=timezone.now() - timedelta(seconds=1)
    )
    assert sweep().payloads_enqueued == 2  # the immediate task backend processes them
    assert set(InboundPayload.objects.values_list("status", flat=True)) == {PayloadStatus.PROCESSED}
    assert InboundPayload.objects.count() == 5


@override_settings(CIVICDESK_INBOUND_RATE_LIMIT=1)
def test_a_throttled_payload_can_be_replayed_by_hand(riverton: Any, text_channel: None) -> None:
    accept_inbound(channel="testsms", raw=_raw("m-1"), process_now=True)
    second = accept_inbound(channel="testsms", raw=_raw("m-2"), process_now=True)
    assert second.payload.status == PayloadStatus.THROTTLED
    assert second.outcome is None
    replayed = replay_payload(payload_id=second.payload.pk)
    assert replayed.status == PayloadStatus.PROCESSED
    assert replayed.held_until is None


@override_settings(CIVICDESK_INBOUND_RATE_LIMIT=1)
def test_throttled_payloads_are_listed(riverton: Any, text_channel: None) -> None:
    accept_inbound(channel="testsms", raw=_raw("m-1"), process_now=True)
    held = accept_inbound(channel="testsms", raw=_raw("m-2"), process_now=True).payload
    out = io.StringIO()
    call_command("payloads", "list", "--throttled", "--json", stdout=out)
    rows = json.loads(out.getvalue())
    assert [(row["id"], row["status"]) for row in rows] == [(held.pk, "throttled")]


@override_settings(CIVICDESK_INBOUND_RATE_LIMIT=1)
def test_channels_that_are_not_rate_limited_process_every_message(riverton: Any) -> None:
    for n in range(3):
        accept_inbound(channel="console", raw=console_payload(id=f"c-{n}"))
    assert set(InboundPayload.objects.values_list("status", flat=True)) == {PayloadStatus.RECEIVED}


@pytest.mark.django_db
def test_the_rate_limit_reads_only_the_senders_payloads() -> None:
    """The count per message uses the index on (channel, sender, time): not the one on the
    channel, which would read every payload of the channel each time (SQLite has no
    statistics to tell them apart)."""
    from django.db import connection

    from civicdesk.channels.guards import rate_window
    from civicdesk.core.clock import now

    recent = InboundPayload.objects.filter(
        channel="email",
        sender_identity="email:ann@example.org",
        created_at__gte=now() - rate_window(),
    )
    sql, params = recent.values("id").query.sql_with_params()
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(f"{explain}SELECT COUNT(*) FROM ({sql}) counted", params)  # noqa: S608
        plan = " ".join(str(row) for row in cursor.fetchall())
    if connection.vendor == "sqlite":
        assert "INDEX inbound_payload_sender_recent" in plan
        assert "(channel=? AND sender_identity=? AND created_at>?)" in plan
    else:  # PostgreSQL's planner has statistics: any index on the sender will do
        assert "Index" in plan
        assert "sender_identity" in plan
