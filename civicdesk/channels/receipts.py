"""Delivery receipts: record each, move the delivery forward (never backwards), publish.

queued < sent < delivered < read; a receipt behind the delivery's state is recorded but not
applied (delivered after read is ignored). FAILED, permanent, marks the delivery failed unless
it was already delivered or read, and moves on to its next fallback route; when the receipt
says the address itself is gone (a hard bounce), the registered unreachable handler hears of it
first (the citizens' contact point is marked, so later messages take the next channel). FAILED,
temporary (a soft bounce: the provider took the message, then gave up for now), sends a sent
delivery again on the retry schedule, up to CIVICDESK_DELIVERY_MAX_ATTEMPTS tries in all, after
which it counts as permanent. Once failed, later receipts are recorded only; so is a receipt
about one of the message's copies (an email's Cc), which never fails the delivery itself.

A receipt only ever touches a delivery of the account whose signed webhook (or mailbox)
carried it: provider ids are numbered per bot, page or number, so one account could otherwise
move (or fail) another account's deliveries.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction

from civicdesk.channels import delivery_policy, registry
from civicdesk.channels.contracts import RECEIPT_ORDER, DeliveryReceipt, ReceiptState
from civicdesk.channels.fallback import fall_back
from civicdesk.channels.models import (
    ChannelAccount,
    DeliveryStatus,
    OutboundDelivery,
    ReceiptRecord,
)
from civicdesk.channels.retry_schedule import schedule_retry
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
            recipient_unreachable=receipt.recipient_unreachable,
            recipient=receipt.recipient[:254],
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
            recipient_unreachable=record.recipient_unreachable,
            recipient=record.recipient,
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
    if _about_another_address(delivery, receipt):
        return False
    current = (
        RECEIPT_ORDER.get(ReceiptState(delivery.provider_state), -1)
        if (delivery.provider_state and delivery.provider_state != ReceiptState.FAILED)
        else -1
    )
    at = receipt.at or now()
    if receipt.state is ReceiptState.FAILED:
        return _apply_failure(delivery, receipt, current=current)
    if RECEIPT_ORDER[receipt.state] <= current:
        return False
    delivery.provider_state = receipt.state
    if receipt.state is ReceiptState.DELIVERED:
        delivery.delivered_at = at
    if receipt.state is ReceiptState.READ:
        delivery.read_at = at
        delivery.delivered_at = delivery.delivered_at or at
    delivery.save()
    _publish(delivery)
    return True


def _apply_failure(delivery: OutboundDelivery, receipt: DeliveryReceipt, *, current: int) -> bool:
    if current >= RECEIPT_ORDER[ReceiptState.DELIVERED]:
        return False
    if not receipt.permanent and delivery.status != DeliveryStatus.SENT:
        return False  # being sent again already (the same soft bounce reported twice)
    if not receipt.permanent and delivery.attempts < settings.CIVICDESK_DELIVERY_MAX_ATTEMPTS:
        _send_again(delivery, receipt)
    else:
        _fail(delivery, receipt)
    return True


def _about_another_address(delivery: OutboundDelivery, receipt: DeliveryReceipt) -> bool:
    """The receipt names another address than the delivery's recipient (one copied, or one
    the message never went to): recorded, but it moves nothing. Anyone who received the
    message can forge a report about it; one naming a third address must not fail the
    delivery, nor mark that address undeliverable."""
    named = receipt.recipient.casefold()
    return bool(named) and named != delivery.recipient.casefold()


def _send_again(delivery: OutboundDelivery, receipt: DeliveryReceipt) -> None:
    """A soft bounce: the message left, then could not be delivered for now. The delivery is
    sent again on the retry schedule, as if the send itself had failed for now."""
    delivery.status = DeliveryStatus.RETRYING
    delivery.provider_state = ""
    delivery.last_error = receipt.error or "the provider could not deliver the message for now"
    delivery.next_attempt_at = delivery_policy.next_attempt_at(
        now=now(), attempts_made=delivery.attempts, retry_after=None
    )
    delivery.save()
    schedule_retry(delivery)
    _publish(delivery)


def _fail(delivery: OutboundDelivery, receipt: DeliveryReceipt) -> None:
    delivery.status = DeliveryStatus.FAILED
    delivery.provider_state = ReceiptState.FAILED
    delivery.last_error = receipt.error or "the provider reported the message failed"
    if not receipt.permanent:
        delivery.last_error += f" (no more tries: {delivery.attempts} made)"
    delivery.next_attempt_at = None
    delivery.save()
    _publish(delivery)
    gone = receipt.recipient_unreachable and receipt.permanent
    recipient = delivery.recipient  # a receipt naming another address never gets here
    if gone:
        _report_unreachable(delivery, recipient=recipient, reason=delivery.last_error)
    fall_back(delivery, reason=delivery.last_error, bounced_recipient=recipient if gone else "")


def _report_unreachable(delivery: OutboundDelivery, *, recipient: str, reason: str) -> None:
    handler = registry.unreachable_handler()
    kind = delivery.recipient_kind
    if not kind:
        adapter = registry.adapters().get(delivery.channel)
        kinds = adapter.recipient_kinds if adapter else ()
        kind = kinds[0] if len(kinds) == 1 else ""
    if handler is None or not kind or not recipient:
        return
    handler(
        registry.UnreachableNotice(
            channel=delivery.channel,
            recipient=recipient,
            recipient_kind=kind,
            reason=reason,
            at=now(),
            delivery_id=delivery.pk,
            thread_reference=delivery.thread_reference,
        )
    )


def _publish(delivery: OutboundDelivery) -> None:
    publish(
        "delivery.updated",
        {
            "delivery_id": delivery.pk,
            "status": delivery.status,
            "provider_state": delivery.provider_state,
            "thread_reference": delivery.thread_reference,
        },
    )
