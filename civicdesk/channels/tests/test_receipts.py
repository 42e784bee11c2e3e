"""Receipts move a delivery forward only; one webhook can carry a message and receipts."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from civicdesk.channels import registry
from civicdesk.channels.accounts import configure_account
from civicdesk.channels.contracts import (
    ChannelAdapter,
    DeliveryReceipt,
    DeliveryResult,
    InboundMessage,
    OutgoingMessage,
    RawPayload,
    ReceiptState,
)
from civicdesk.channels.models import (
    ChannelAccount,
    DeliveryStatus,
    InboundPayload,
    OutboundDelivery,
    ReceiptRecord,
)
from civicdesk.channels.receipts import record_receipts
from civicdesk.channels.services import queue_delivery
from civicdesk.channels.tests.sms_acme.tests.test_adapter import signed

pytestmark = pytest.mark.django_db

T1 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
T2 = datetime(2026, 12, 2, 9, 5, tzinfo=UTC)


def _delivery(account: ChannelAccount | None = None) -> OutboundDelivery:
    return OutboundDelivery.objects.create(
        channel="sms_acme",
        account=account,
        recipient="+447700900123",
        body="Hello",
        status=DeliveryStatus.SENT,
        provider_message_id="AM-OUT-1",
    )


def test_receipts_move_forward_and_never_back() -> None:
    delivery = _delivery()
    record_receipts(
        channel="sms_acme",
        account=None,
        receipts=[
            DeliveryReceipt("AM-OUT-1", ReceiptState.DELIVERED, at=T1),
            DeliveryReceipt("AM-OUT-1", ReceiptState.READ, at=T2),
            DeliveryReceipt("AM-OUT-1", ReceiptState.DELIVERED, at=T2),
            DeliveryReceipt("AM-OUT-1", ReceiptState.FAILED, error="late failure"),
        ],
    )
    delivery.refresh_from_db()
    assert (delivery.provider_state, delivery.delivered_at, delivery.read_at) == ("read", T1, T2)
    assert delivery.status == DeliveryStatus.SENT
    assert list(ReceiptRecord.objects.values_list("state", "applied")) == [
        ("delivered", True),
        ("read", True),
        ("delivered", False),
        ("failed", False),
    ]


def test_a_failed_receipt_fails_the_delivery_permanently() -> None:
    delivery = _delivery()
    record_receipts(
        channel="sms_acme",
        account=None,
        receipts=[DeliveryReceipt("AM-OUT-1", ReceiptState.FAILED, error="Unreachable handset")],
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_state, delivery.last_error) == (
        DeliveryStatus.FAILED,
        "failed",
        "Unreachable handset",
    )


def test_one_webhook_yields_a_message_and_a_receipt(client: Client) -> None:
    account = ChannelAccount.objects.create(kind="sms_acme", name="Main")
    configure_account(account=account, values={"webhook_secret": "whsec-test"})
    delivery = _delivery(account)
    body = json.dumps(
        {
            "message": {"id": "AM-IN-5", "from": "+447700900123", "text": "Thanks!"},
            "statuses": [
                {"id": "AM-OUT-1", "status": "delivered", "timestamp": "2026-12-02T09:00:00+00:00"}
            ],
        }
    ).encode()
    raw = signed(body)
    response = client.post(
        f"/hooks/sms_acme/{account.uuid}/",
        data=body,
        content_type="application/json",
        headers=dict(raw.headers),
    )
    assert response.status_code == 200
    payload = InboundPayload.objects.get()
    assert payload.provider_message_id == "AM-IN-5"
    delivery.refresh_from_db()
    assert (delivery.provider_state, delivery.delivered_at) == ("delivered", T1)


def test_a_receipts_only_webhook_is_kept_but_not_processed(client: Client) -> None:
    account = ChannelAccount.objects.create(kind="sms_acme", name="Main")
    configure_account(account=account, values={"webhook_secret": "whsec-test"})
    body = json.dumps({"message": None, "statuses": []}).encode()
    raw = signed(body)
    client.post(
        f"/hooks/sms_acme/{account.uuid}/",
        data=body,
        content_type="application/json",
        headers=dict(raw.headers),
    )
    payload = InboundPayload.objects.get()
    assert (payload.status, payload.error, payload.attempts) == ("processed", "", 0)


def _signed_post(client: Client, account: ChannelAccount, body: bytes, secret: str) -> int:
    raw = signed(body, secret=secret)
    response = client.post(
        f"/hooks/sms_acme/{account.uuid}/",
        data=body,
        content_type="application/json",
        headers=dict(raw.headers),
    )
    return int(response.status_code)


def test_a_receipt_signed_by_one_account_cannot_touch_another_accounts_delivery(
    client: Client,
) -> None:
    first = ChannelAccount.objects.create(kind="sms_acme", name="First")
    configure_account(account=first, values={"webhook_secret": "secret-first"})
    second = ChannelAccount.objects.create(kind="sms_acme", name="Second")
    configure_account(account=second, values={"webhook_secret": "secret-second"})
    delivery = _delivery(first)
    body = json.dumps(
        {
            "message": None,
            "statuses": [
                {"id": "AM-OUT-1", "status": "failed", "error": {"message": "forged by second"}}
            ],
        }
    ).encode()
    assert _signed_post(client, second, body, "secret-second") == 200
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_state, delivery.last_error) == (
        DeliveryStatus.SENT,
        "",
        "",
    )
    record = ReceiptRecord.objects.get()
    assert (record.account, record.delivery, record.applied) == (second, None, False)
    # The same receipt from the delivery's own account does apply.
    assert _signed_post(client, first, body, "secret-first") == 200
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.FAILED, "forged by second")


def test_a_failed_delivery_stays_failed_whatever_comes_after() -> None:
    delivery = _delivery()
    record_receipts(
        channel="sms_acme",
        account=None,
        receipts=[
            DeliveryReceipt("AM-OUT-1", ReceiptState.FAILED, error="Unreachable handset"),
            DeliveryReceipt("AM-OUT-1", ReceiptState.SENT),
            DeliveryReceipt("AM-OUT-1", ReceiptState.DELIVERED, at=T1),
        ],
    )
    delivery.refresh_from_db()
    assert (
        delivery.status,
        delivery.provider_state,
        delivery.delivered_at,
        delivery.last_error,
    ) == (DeliveryStatus.FAILED, "failed", None, "Unreachable handset")
    assert list(ReceiptRecord.objects.values_list("state", "applied")) == [
        ("failed", True),
        ("sent", False),
        ("delivered", False),
    ]


class QuickAdapter(ChannelAdapter):
    """A provider whose receipts can arrive before its send call returns."""

    kind = "quick"
    label = "Quick test channel"

    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        raise NotImplementedError

    def send(self, message: OutgoingMessage, config: object) -> DeliveryResult:
        return DeliveryResult.sent("Q-1")


def test_receipts_that_arrive_before_the_provider_id_is_recorded_are_applied_in_order(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with registry.override_adapters(QuickAdapter):
        record_receipts(
            channel="quick",
            account=None,
            receipts=[
                DeliveryReceipt("Q-1", ReceiptState.DELIVERED, at=T1),
                DeliveryReceipt("Q-1", ReceiptState.READ, at=T2),
            ],
        )
        early: list[tuple[int | None, bool]] = list(
            ReceiptRecord.objects.values_list("delivery_id", "applied")
        )
        assert early == [(None, False), (None, False)]
        with django_capture_on_commit_callbacks(execute=True):
            delivery = queue_delivery(
                message=OutgoingMessage(channel="quick", recipient="+447911123456", body="Hi")
            )
    delivery.refresh_from_db()
    assert (
        delivery.status,
        delivery.provider_message_id,
        delivery.provider_state,
        delivery.delivered_at,
        delivery.read_at,
    ) == (DeliveryStatus.SENT, "Q-1", "read", T1, T2)
    assert list(ReceiptRecord.objects.values_list("delivery", "state", "applied")) == [
        (delivery.pk, "delivered", True),
        (delivery.pk, "read", True),
    ]


@pytest.mark.django_db
def test_a_receipt_finds_its_delivery_by_the_account_and_provider_id_index() -> None:
    """Not by the account's index alone, which SQLite (no statistics) chose before: every
    delivery of the account read for each receipt, in the listener's acknowledgement of a
    bounce."""
    from django.db import connection

    lookup = OutboundDelivery.objects.filter(
        channel="email", account_id=1, provider_message_id="x@riverton.example"
    )
    sql, params = lookup.order_by("-id")[:1].query.sql_with_params()
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    if connection.vendor == "sqlite":
        assert "delivery_receipt_match (account_id=? AND provider_message_id=?)" in plan
    else:  # PostgreSQL's planner has statistics: an index on the provider id will do
        assert "Index" in plan
