"""Delivery receipts: record each, move the delivery forward (never backwards), publish.

queued < sent < delivered < read; a receipt behind the delivery's state is recorded but not
applied (delivered after read is ignored). FAILED marks the delivery failed as a permanent
failure, unless it was already delivered or read, and moves on to its next fallback route; once
failed, later receipts are recorded only.

A receipt only ever touches a delivery of the account whose signed webhook carried it: provider
ids are numbered per bot, page or number, so one account could otherwise move (or fail) another
account's deliveries.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from civicdesk.channels.contracts import RECEIPT_ORDER, DeliveryReceipt, ReceiptState
from civicdesk.channels.fallback import fall_back
from civicdesk.channels.models import (
    ChannelAccount,
    DeliveryStatus,
    OutboundDelivery,
    ReceiptRecord,
)
from civicdesk.core.clock import now
from civicdesk.realtime.publish import publish


@transaction.atomic
def record_receipts(
    *, channel: str, account: ChannelAccount | None, receipts: Iterable[DeliveryReceipt]
) -> list[ReceiptRecord]:
    """Record each receipt and apply it to the matching delivery of `account` (None: deliveries
    sent without an account). Locks each matched delivery; one query per receipt."""
    records = []
    for receipt in receipts:
        delivery = (
            OutboundDelivery.objects.select_for_update()
            .filter(
                channel=channel,
                account=account,
                provider_message_id=receipt.provider_message_id,
            )
            .first()
        )
        record = ReceiptRecord(
            delivery=delivery,
            channel=channel,
            account=account,
            provider_message_id=receipt.provider_message_id,
            state=receipt.state,
            at=receipt.at,
            error=receipt.error,
            permanent=receipt.permanent,
            received_at=now(),
        )
        if delivery is not None:
            record.applied = _apply(delivery, receipt)
        record.save()
        records.append(record)
    return records


def apply_early_receipts(*, delivery: OutboundDelivery) -> int:
    """Link and apply, in arrival order, the receipts that arrived before `attempt_delivery`
    recorded the provider id (a fast provider can report "delivered" before the send call
    returns). Call inside the transaction that saves the provider id; returns how many moved
    the delivery. One query plus one write per early receipt (usually none)."""
    if not delivery.provider_message_id:
        return 0
    early = (
        ReceiptRecord.objects.select_for_update()
        .filter(
            delivery__isnull=True,
            channel=delivery.channel,
            account_id=delivery.account_id,
            provider_message_id=delivery.provider_message_id,
        )
        .order_by("received_at", "id")
    )
    moved = 0
    for record in early:
        receipt = DeliveryReceipt(
            provider_message_id=record.provider_message_id,
            state=ReceiptState(record.state),
            at=record.at,
            error=record.error,
            permanent=record.permanent,
        )
        record.delivery = delivery
        record.applied = _apply(delivery, receipt)
        record.save(update_fields=["delivery", "applied"])
        moved += record.applied
    return moved


def _apply(delivery: OutboundDelivery, receipt: DeliveryReceipt) -> bool:
    if delivery.provider_state == ReceiptState.FAILED:
        # Terminal: a later receipt is recorded but never revives a failed delivery, so status
        # and provider_state stay consistent.
        return False
    current = (
        RECEIPT_ORDER.get(ReceiptState(delivery.provider_state), -1)
        if (delivery.provider_state and delivery.provider_state != ReceiptState.FAILED)
        else -1
    )
    at = receipt.at or now()
    if receipt.state is ReceiptState.FAILED:
        if current >= RECEIPT_ORDER[ReceiptState.DELIVERED]:
            return False
        delivery.status = DeliveryStatus.FAILED
        delivery.provider_state = ReceiptState.FAILED
        delivery.last_error = receipt.error or "the provider reported the message failed"
        delivery.next_attempt_at = None
    else:
        if RECEIPT_ORDER[receipt.state] <= current:
            return False
        delivery.provider_state = receipt.state
        if receipt.state is ReceiptState.DELIVERED:
            delivery.delivered_at = at
        if receipt.state is ReceiptState.READ:
            delivery.read_at = at
            delivery.delivered_at = delivery.delivered_at or at
    delivery.save()
    publish(
        "delivery.updated",
        {
            "delivery_id": delivery.pk,
            "status": delivery.status,
            "provider_state": delivery.provider_state,
            "thread_reference": delivery.thread_reference,
        },
    )
    if receipt.state is ReceiptState.FAILED:
        fall_back(delivery, reason=delivery.last_error)
    return True
