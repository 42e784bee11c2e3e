"""Outbound attachments, the fallback chain across two channels, and the automatic cap."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings

from civicdesk.channels import registry
from civicdesk.channels.contracts import (
    AttachmentRef,
    ChannelAdapter,
    DeliveryReceipt,
    DeliveryResult,
    DeliveryRoute,
    InboundMessage,
    OutgoingMessage,
    RawPayload,
    ReceiptState,
)
from civicdesk.channels.models import (
    DeliveryFallback,
    DeliveryStatus,
    OutboundDelivery,
)
from civicdesk.channels.receipts import record_receipts
from civicdesk.channels.services import attempt_delivery, queue_delivery
from civicdesk.core.clock import now

pytestmark = pytest.mark.django_db


class ChatAdapter(ChannelAdapter):
    """A chat channel with a 24-hour reply window; sends as scripted (default: sent)."""

    kind = "testchat"
    label = "Test chat"
    reply_window: ClassVar[timedelta | None] = timedelta(hours=24)
    script: ClassVar[list[DeliveryResult]] = []
    sent: ClassVar[list[tuple[OutgoingMessage, Any]]] = []

    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        raise NotImplementedError

    def send(self, message: OutgoingMessage, config: Any) -> DeliveryResult:
        self.sent.append((message, config))
        return self.script.pop(0) if self.script else DeliveryResult.sent("chat-1")


class MailAdapter(ChatAdapter):
    kind = "testmail"
    label = "Test mail"
    reply_window = None
    script: ClassVar[list[DeliveryResult]] = []
    sent: ClassVar[list[tuple[OutgoingMessage, Any]]] = []


@pytest.fixture
def two_channels() -> Iterator[None]:
    notices: list[registry.FallbackNotice] = []
    # The cases app registered its own handler at start-up: put it back afterwards.
    installed = registry.fallback_handler()
    registry.set_fallback_handler(notices.append)
    try:
        with registry.override_adapters(ChatAdapter, MailAdapter):
            yield
    finally:
        registry.set_fallback_handler(installed)
    for adapter in (ChatAdapter, MailAdapter):
        adapter.script.clear()
        adapter.sent.clear()


def _notices() -> list[registry.FallbackNotice]:
    handler = registry.fallback_handler()
    assert handler is not None
    return handler.__self__  # type: ignore[attr-defined, no-any-return]


def _chat(**fields: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "channel": "testchat",
        "recipient": "+40700000001",
        "body": "Your bin is fixed",
        "subject": "[R-1] Bin",
        "thread_reference": "R-1",
    }
    values.update(fields)
    return OutgoingMessage(**values)


MAIL = DeliveryRoute(channel="testmail", recipient="ana@example.org")


def test_open_window_sends_with_attachment_and_idempotency_key(two_channels: None) -> None:
    name = default_storage.save("outbound/plan.pdf", ContentFile(b"%PDF-1.7 plan"))
    delivery = queue_delivery(
        message=_chat(),
        attachments=[AttachmentRef(name, "plan.pdf", "application/pdf")],
        fallbacks=[MAIL],
        last_inbound_at=now() - timedelta(hours=1),
    )
    attempt_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    ((message, config),) = ChatAdapter.sent
    assert [(a.filename, a.content_type, a.content) for a in message.attachments] == [
        ("plan.pdf", "application/pdf", b"%PDF-1.7 plan")
    ]
    assert message.idempotency_key.startswith(f"civicdesk-{delivery.pk}-")
    assert config == ChatAdapter.config_schema()
    assert MailAdapter.sent == []
    assert DeliveryFallback.objects.count() == 0
    assert _notices() == []


def test_closed_window_falls_back_to_the_next_route(two_channels: None) -> None:
    name = default_storage.save("outbound/photo.jpg", ContentFile(b"jpeg"))
    delivery = queue_delivery(
        message=_chat(),
        attachments=[AttachmentRef(name, "photo.jpg", "image/jpeg")],
        fallbacks=[MAIL],
        last_inbound_at=now() - timedelta(hours=25),
    )
    attempt_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "The Test chat reply window has closed."
    assert ChatAdapter.sent == []
    fallback = DeliveryFallback.objects.get()
    assert fallback.from_delivery_id == delivery.pk
    assert fallback.to_delivery is not None
    follow = OutboundDelivery.objects.get(pk=fallback.to_delivery.pk)
    assert (follow.channel, follow.recipient, follow.body, follow.subject) == (
        "testmail",
        "ana@example.org",
        "Your bin is fixed",
        "[R-1] Bin",
    )
    assert follow.thread_reference == "R-1"
    assert follow.attachments == delivery.attachments
    assert _notices() == [
        registry.FallbackNotice(
            thread_reference="R-1",
            from_delivery_id=delivery.pk,
            from_channel="testchat",
            to_delivery_id=follow.pk,
            to_channel="testmail",
            reason="The Test chat reply window has closed.",
        )
    ]
    attempt_delivery(delivery_id=follow.pk)
    follow.refresh_from_db()
    assert follow.status == DeliveryStatus.SENT
    ((message, _config),) = MailAdapter.sent
    assert message.attachments[0].content == b"jpeg"


def test_unknown_last_inbound_counts_as_a_closed_window(two_channels: None) -> None:
    delivery = queue_delivery(message=_chat(), fallbacks=[MAIL])
    attempt_delivery(delivery_id=delivery.pk)
    assert DeliveryFallback.objects.get().to_delivery is not None
    assert ChatAdapter.sent == []


def test_permanent_failure_falls_back_then_the_chain_is_exhausted(two_channels: None) -> None:
    ChatAdapter.script.append(DeliveryResult.permanent_failure("number unreachable"))
    MailAdapter.script.append(DeliveryResult.permanent_failure("mailbox does not exist"))
    delivery = queue_delivery(
        message=_chat(), fallbacks=[MAIL], last_inbound_at=now() - timedelta(minutes=5)
    )
    attempt_delivery(delivery_id=delivery.pk)
    follow = OutboundDelivery.objects.get(channel="testmail")
    attempt_delivery(delivery_id=follow.pk)
    follow.refresh_from_db()
    assert follow.status == DeliveryStatus.FAILED
    steps = list(DeliveryFallback.objects.values_list("from_delivery", "to_delivery", "reason"))
    assert steps == [
        (delivery.pk, follow.pk, "number unreachable"),
        (follow.pk, None, "mailbox does not exist"),
    ]
    assert [(n.to_delivery_id, n.to_channel) for n in _notices()] == [
        (follow.pk, "testmail"),
        (None, ""),
    ]
    assert OutboundDelivery.objects.count() == 2


def test_a_chain_never_revisits_a_route(two_channels: None) -> None:
    ChatAdapter.script.append(DeliveryResult.permanent_failure("unreachable"))
    MailAdapter.script.append(DeliveryResult.permanent_failure("bounced"))
    first = DeliveryRoute(channel="testchat", recipient="+40700000001")
    delivery = queue_delivery(
        message=_chat(),
        fallbacks=[first, MAIL, first, MAIL],
        last_inbound_at=now(),
    )
    attempt_delivery(delivery_id=delivery.pk)
    follow = OutboundDelivery.objects.get(channel="testmail")
    attempt_delivery(delivery_id=follow.pk)
    assert OutboundDelivery.objects.count() == 2
    assert DeliveryFallback.objects.filter(to_delivery=None).count() == 1


def test_missing_attachment_is_a_permanent_failure_with_a_clear_error(
    two_channels: None,
) -> None:
    delivery = queue_delivery(
        message=_chat(channel="testmail"),
        attachments=[AttachmentRef("outbound/gone.pdf", "gone.pdf", "application/pdf")],
    )
    attempt_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == (
        "attachment 'gone.pdf' is missing from storage (outbound/gone.pdf)"
    )
    assert MailAdapter.sent == []


@override_settings(CIVICDESK_AUTOMATIC_MESSAGE_LIMIT=2)
def test_automatic_messages_beyond_the_cap_are_suppressed(two_channels: None) -> None:
    deliveries = [
        queue_delivery(message=_chat(channel="testmail", is_automatic=True)) for _ in range(3)
    ]
    reply = queue_delivery(message=_chat(channel="testmail"))
    for delivery in [*deliveries, reply]:
        attempt_delivery(delivery_id=delivery.pk)
    statuses = [OutboundDelivery.objects.get(pk=d.pk).status for d in [*deliveries, reply]]
    assert statuses == [
        DeliveryStatus.SENT,
        DeliveryStatus.SENT,
        DeliveryStatus.SUPPRESSED,
        DeliveryStatus.SENT,
    ]
    suppressed = OutboundDelivery.objects.get(pk=deliveries[2].pk)
    assert "loop protection" in suppressed.last_error
    assert len(MailAdapter.sent) == 3
    assert DeliveryFallback.objects.count() == 0


def test_a_failed_receipt_falls_back_once(two_channels: None) -> None:
    delivery = queue_delivery(message=_chat(), fallbacks=[MAIL], last_inbound_at=now())
    attempt_delivery(delivery_id=delivery.pk)
    failed = DeliveryReceipt("chat-1", ReceiptState.FAILED, error="handset unreachable")
    record_receipts(channel="testchat", account=None, receipts=[failed])
    record_receipts(channel="testchat", account=None, receipts=[failed])
    fallback = DeliveryFallback.objects.get()
    assert (fallback.from_delivery_id, fallback.reason) == (delivery.pk, "handset unreachable")
    assert fallback.to_delivery is not None
    assert fallback.to_delivery.channel == "testmail"
    assert OutboundDelivery.objects.count() == 2
    assert len(_notices()) == 1
