"""Bounces in the framework: a hard bounce reports the address before falling back, a soft one
sends again, a receipt about a copy never fails the delivery."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from civicdesk.channels.contracts import DeliveryReceipt, DeliveryRoute, ReceiptState
from civicdesk.channels.models import (
    DeliveryFallback,
    DeliveryStatus,
    OutboundDelivery,
    ReceiptRecord,
)
from civicdesk.channels.receipts import apply_early_receipts, record_receipts
from civicdesk.channels.registry import UnreachableNotice, unreachable_handler
from civicdesk.channels.routes import route_to_json
from civicdesk.channels.services import register_unreachable_handler
from civicdesk.core.clock import now

pytestmark = pytest.mark.django_db

OUR_ID = "riv-1.0a1b2c3d4e5f@riverton.example"
ANN = "ann@example.org"


@pytest.fixture
def heard() -> Iterator[list[UnreachableNotice]]:
    """What the unreachable handler hears, in place of the domain's during the test."""
    notices: list[UnreachableNotice] = []
    previous = unreachable_handler()
    register_unreachable_handler(notices.append)
    try:
        yield notices
    finally:
        register_unreachable_handler(previous)


def sent(**fields: object) -> OutboundDelivery:
    values: dict[str, object] = {
        "channel": "email",
        "recipient": ANN,
        "recipient_kind": "email",
        "body": "We will fix it.",
        "thread_reference": "RIV-1",
        "status": DeliveryStatus.SENT,
        "provider_message_id": OUR_ID,
        "attempts": 1,
        "copy_to": ["bo@example.net"],
        "fallbacks": [route_to_json(DeliveryRoute(channel="portal", recipient=""))],
        "tried_routes": [["email", ANN, None]],
    }
    values.update(fields)
    return OutboundDelivery.objects.create(**values)


def bounce(**fields: object) -> DeliveryReceipt:
    values: dict[str, object] = {
        "provider_message_id": OUR_ID,
        "state": ReceiptState.FAILED,
        "error": "The email to ann@example.org bounced: 550 5.1.1 User unknown",
        "permanent": True,
        "recipient_unreachable": True,
        "recipient": ANN,
    }
    values.update(fields)
    return DeliveryReceipt(**values)  # type: ignore[arg-type]


def test_a_hard_bounce_reports_the_address_then_falls_back(
    heard: list[UnreachableNotice],
) -> None:
    delivery = sent()
    [record] = record_receipts(channel="email", account=None, receipts=[bounce()])
    assert (record.applied, record.recipient, record.recipient_unreachable) == (True, ANN, True)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_state) == (DeliveryStatus.FAILED, "failed")
    [notice] = heard
    assert (notice.channel, notice.recipient, notice.recipient_kind, notice.delivery_id) == (
        "email",
        ANN,
        "email",
        delivery.pk,
    )
    assert notice.reason == "The email to ann@example.org bounced: 550 5.1.1 User unknown"
    fallback = DeliveryFallback.objects.get(from_delivery=delivery)
    assert fallback.to_delivery is not None
    assert fallback.to_delivery.channel == "portal"


def test_a_refusal_of_the_message_alone_falls_back_but_reports_no_address(
    heard: list[UnreachableNotice],
) -> None:
    delivery = sent()
    record_receipts(channel="email", account=None, receipts=[bounce(recipient_unreachable=False)])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert heard == []
    assert DeliveryFallback.objects.filter(from_delivery=delivery).exists()


def test_a_soft_bounce_sends_again_once_however_often_it_is_reported(
    heard: list[UnreachableNotice],
) -> None:
    delivery = sent()
    soft = bounce(permanent=False, recipient_unreachable=False, error="452 4.2.2 Mailbox full")
    records = record_receipts(channel="email", account=None, receipts=[soft, soft])
    assert [r.applied for r in records] == [True, False]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_state, delivery.attempts) == (
        DeliveryStatus.RETRYING,
        "",
        1,
    )
    assert delivery.last_error == "452 4.2.2 Mailbox full"
    assert delivery.next_attempt_at is not None
    assert now() < delivery.next_attempt_at < now() + timedelta(hours=1)
    assert heard == []
    assert not DeliveryFallback.objects.exists()


def test_a_soft_bounce_after_the_last_try_counts_as_permanent(
    heard: list[UnreachableNotice], settings: object
) -> None:
    delivery = sent(attempts=6)
    soft = bounce(permanent=False, recipient_unreachable=False, error="452 4.2.2 Mailbox full")
    record_receipts(channel="email", account=None, receipts=[soft])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "452 4.2.2 Mailbox full (no more tries: 6 made)"
    assert heard == []
    assert DeliveryFallback.objects.filter(from_delivery=delivery).exists()


def test_a_bounce_of_a_copy_is_recorded_and_moves_nothing(
    heard: list[UnreachableNotice],
) -> None:
    delivery = sent()
    [record] = record_receipts(
        channel="email", account=None, receipts=[bounce(recipient="BO@example.net")]
    )
    assert (record.delivery_id, record.applied) == (delivery.pk, False)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert heard == []


def test_a_bounce_before_the_send_returned_keeps_its_address_facts(
    heard: list[UnreachableNotice],
) -> None:
    delivery = sent(provider_message_id="", status=DeliveryStatus.SENDING)
    [early] = record_receipts(channel="email", account=None, receipts=[bounce()])
    assert early.delivery_id is None
    OutboundDelivery.objects.filter(pk=delivery.pk).update(
        provider_message_id=OUR_ID, status=DeliveryStatus.SENT
    )
    delivery.refresh_from_db()
    assert apply_early_receipts(delivery=delivery) == 1
    assert ReceiptRecord.objects.get().applied is True
    [notice] = heard
    assert notice.recipient == ANN
