"""Outbound: queue a delivery, send it through its channel's adapter, retry temporary
failures with backoff, fall back along the route chain, and cap automatic messages.

Public entry points are re-exported by `channels.services` (callers import them from there).
The provider is always called outside any transaction. Sending is a lease, renewed while the
provider call runs and taken over by the sweep once a dead worker's lease has run out (see
channels.sending_lease, which also states the at-least-once edge). The bookkeeping around a send
(the claim, the recorded result) retries temporary database faults: a locked or briefly
unreachable database delays a delivery, it never fails it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q

from civicdesk.channels import delivery_policy, receipts, registry, sending_lease
from civicdesk.channels.accounts import account_config
from civicdesk.channels.contracts import (
    AttachmentRef,
    ChannelAdapter,
    DeliveryOutcome,
    DeliveryResult,
    DeliveryRoute,
    OutgoingAttachment,
    OutgoingMessage,
)
from civicdesk.channels.fallback import fall_back
from civicdesk.channels.models import (
    ChannelAccount,
    DeliveryAttempt,
    DeliveryStatus,
    InboundPayload,
    OutboundDelivery,
)
from civicdesk.channels.retry_schedule import schedule_retry
from civicdesk.channels.routes import (
    attachment_from_json,
    attachment_to_json,
    create_delivery,
    route_key,
    route_to_json,
)
from civicdesk.core.clock import now
from civicdesk.core.errors import DomainError
from civicdesk.core.transient import retry_transient
from civicdesk.realtime.publish import publish

logger = logging.getLogger(__name__)


class PrivateMessageRefused(DomainError):
    code = "private_message"


def queue_delivery(
    *,
    message: OutgoingMessage,
    account: ChannelAccount | None = None,
    attachments: Sequence[AttachmentRef] = (),
    fallbacks: Sequence[DeliveryRoute] = (),
    last_inbound_at: datetime | None = None,
) -> OutboundDelivery:
    """Queue one message for sending after the current transaction commits.

    The one guard every outbound path passes: private content is refused here. `attachments`
    are files already in the default storage (loaded at send time); `fallbacks` are the routes
    to try, in order, when this one fails permanently or its reply window is closed;
    `last_inbound_at` is when the citizen last wrote on this route; `account` None is the
    channel's default.
    """
    if message.is_private:
        raise PrivateMessageRefused("Internal notes are never sent to citizens.")
    adapter = registry.adapter_for(message.channel)
    if adapter.needs_recipient and not message.recipient:
        raise DomainError(f"No {adapter.label} address to reply to for this citizen.")
    route = DeliveryRoute(
        channel=message.channel,
        recipient=message.recipient,
        account_id=account.pk if account is not None else None,
        last_inbound_at=last_inbound_at,
    )
    return create_delivery(
        message=message,
        route=route,
        attachments=[attachment_to_json(a) for a in attachments],
        fallbacks=[route_to_json(r) for r in fallbacks],
        tried=[route_key(route)],
    )


def _claim_delivery(delivery_id: int) -> OutboundDelivery | None:
    """Take the sending lease, in a short transaction of its own; None if not ours to send
    (sent, failed, or being sent by a live worker). Temporary faults are retried."""

    def claim() -> OutboundDelivery | None:
        with transaction.atomic():
            delivery = (
                OutboundDelivery.objects.select_for_update(of=("self",))
                .select_related("account")
                .get(pk=delivery_id)
            )
            moment = now()
            abandoned = OutboundDelivery.objects.filter(
                sending_lease.abandoned_sending(at=moment), pk=delivery_id
            ).exists()
            if delivery.status not in (DeliveryStatus.PENDING, DeliveryStatus.RETRYING) and not (
                abandoned
            ):
                return None
            if abandoned:
                logger.warning(
                    "Delivery #%s: taking over a send its worker left (lease ran out)", delivery_id
                )
            delivery.status = DeliveryStatus.SENDING
            delivery.claim_token = sending_lease.new_claim_token()
            delivery.claimed_until = sending_lease.lease_until(moment)
            delivery.save(update_fields=["status", "claim_token", "claimed_until", "updated_at"])
            return delivery

    return retry_transient(claim, what=f"claiming delivery #{delivery_id}")


def idempotency_key(delivery: OutboundDelivery) -> str:
    """Stable for one delivery across its retries, distinct between deliveries (and between
    databases that reuse ids: the creation instant is part of it)."""
    return f"civicdesk-{delivery.pk}-{int(delivery.created_at.timestamp() * 1_000_000)}"


def window_closed(adapter: ChannelAdapter, delivery: OutboundDelivery, *, at: datetime) -> bool:
    """Whether the channel's reply window has closed for this delivery. A channel without a
    window is always open; with one, an unknown last inbound counts as closed (the provider
    would refuse the message)."""
    if adapter.reply_window is None:
        return False
    if delivery.last_inbound_at is None:
        return True
    return at - delivery.last_inbound_at > adapter.reply_window


def _automatic_cap_reached(delivery: OutboundDelivery, *, at: datetime) -> bool:
    """Loop protection: this recipient already got the cap of automatic messages in the
    window. One indexed count."""
    if not delivery.is_automatic:
        return False
    since = at - timedelta(seconds=settings.CIVICDESK_AUTOMATIC_MESSAGE_WINDOW_SECONDS)
    sent = (
        OutboundDelivery.objects.filter(
            channel=delivery.channel,
            recipient=delivery.recipient,
            is_automatic=True,
            status=DeliveryStatus.SENT,
            sent_at__gte=since,
        )
        .exclude(pk=delivery.pk)
        .count()
    )
    return sent >= settings.CIVICDESK_AUTOMATIC_MESSAGE_LIMIT


class MissingAttachment(Exception):
    pass


def _load_attachments(delivery: OutboundDelivery) -> tuple[OutgoingAttachment, ...]:
    """Read each attachment from storage (costs one storage read per file)."""
    loaded = []
    for data in delivery.attachments:
        ref = attachment_from_json(data)
        try:
            with default_storage.open(ref.storage_name, "rb") as handle:
                content = handle.read()
        except (FileNotFoundError, OSError) as exc:
            raise MissingAttachment(
                f"attachment {ref.filename!r} is missing from storage ({ref.storage_name})"
            ) from exc
        loaded.append(
            OutgoingAttachment(
                filename=ref.filename, content_type=ref.content_type, content=content
            )
        )
    return tuple(loaded)


def _held(delivery: OutboundDelivery) -> OutboundDelivery | None:
    """The delivery's row, locked, if our claim still holds it; None when another worker took
    it over. Precondition: inside a transaction."""
    current = (
        OutboundDelivery.objects.select_for_update(of=("self",))
        .select_related("account")
        .get(pk=delivery.pk)
    )
    if current.status != DeliveryStatus.SENDING or current.claim_token != delivery.claim_token:
        return None
    current.claim_token = ""
    current.claimed_until = None
    return current


def _finish_without_sending(
    delivery: OutboundDelivery, *, status: str, reason: str, fall_back_now: bool
) -> OutboundDelivery:
    def finish() -> OutboundDelivery:
        with transaction.atomic():
            current = _held(delivery)
            if current is None:
                return OutboundDelivery.objects.get(pk=delivery.pk)
            current.status = status
            current.last_error = reason
            current.next_attempt_at = None
            current.save(
                update_fields=[
                    "status",
                    "last_error",
                    "next_attempt_at",
                    "claim_token",
                    "claimed_until",
                    "updated_at",
                ]
            )
            _publish(current)
            if fall_back_now:
                fall_back(current, reason=reason)
            return current

    return retry_transient(finish, what=f"recording delivery #{delivery.pk}")


def attempt_delivery(*, delivery_id: int) -> OutboundDelivery:
    """Send a queued delivery once; schedule a retry for temporary failures. Idempotent.

    Before sending: an automatic message over the per-recipient cap is suppressed; a closed
    reply window moves on to the next route. After: a permanent failure moves on too. The
    provider is called outside any transaction: a slow provider must not hold a lock (on
    SQLite, the database's only write lock) while it thinks.
    """
    delivery = _claim_delivery(delivery_id)
    if delivery is None:
        return OutboundDelivery.objects.get(pk=delivery_id)
    adapter = registry.adapter_for(delivery.channel)
    attempted_at = now()
    if _automatic_cap_reached(delivery, at=attempted_at):
        return _finish_without_sending(
            delivery,
            status=DeliveryStatus.SUPPRESSED,
            reason=(
                f"Not sent: {settings.CIVICDESK_AUTOMATIC_MESSAGE_LIMIT} automatic messages "
                f"already went to this recipient within "
                f"{settings.CIVICDESK_AUTOMATIC_MESSAGE_WINDOW_SECONDS} s (loop protection)."
            ),
            fall_back_now=False,
        )
    if window_closed(adapter, delivery, at=attempted_at):
        return _finish_without_sending(
            delivery,
            status=DeliveryStatus.FAILED,
            reason=f"The {adapter.label} reply window has closed.",
            fall_back_now=True,
        )
    try:
        attachments = _load_attachments(delivery)
    except MissingAttachment as exc:
        # Every route would miss the file too: fail here, without falling back.
        return _finish_without_sending(
            delivery, status=DeliveryStatus.FAILED, reason=str(exc), fall_back_now=False
        )
    outgoing = OutgoingMessage(
        channel=delivery.channel,
        recipient=delivery.recipient,
        subject=delivery.subject,
        body=delivery.body,
        thread_reference=delivery.thread_reference,
        attachments=attachments,
        recipient_kind=delivery.recipient_kind,
        account=str(delivery.account.uuid) if delivery.account else "",
        is_automatic=delivery.is_automatic,
        idempotency_key=idempotency_key(delivery),
        thread_ids=thread_ids(delivery),
        copy_to=tuple(str(address) for address in delivery.copy_to),
    )
    try:
        config = account_config(adapter=adapter, account=delivery.account)
        with sending_lease.kept_while_sending(delivery_id=delivery.pk, token=delivery.claim_token):
            result = adapter.send(outgoing, config)
    except Exception as exc:
        logger.exception("Adapter %s raised while sending #%s", delivery.channel, delivery_id)
        result = DeliveryResult.temporary_failure(f"adapter error: {exc!r}")
    return _record_result(delivery, result, attempted_at=attempted_at)


# The most earlier messages a reply names (an email's References stays a reasonable size).
THREAD_IDS_KEPT = 20


def thread_ids(delivery: OutboundDelivery) -> tuple[str, ...]:
    """The provider ids of the delivery's thread in its channel, oldest first: the inbound
    messages processed into it and the deliveries sent on it. Two queries."""
    if not delivery.thread_reference:
        return ()
    inbound = (
        InboundPayload.objects.filter(
            channel=delivery.channel,
            result_reference=delivery.thread_reference,
            provider_message_id__isnull=False,
        )
        .order_by("-id")
        .values_list("created_at", "provider_message_id")[:THREAD_IDS_KEPT]
    )
    sent = (
        OutboundDelivery.objects.filter(
            channel=delivery.channel,
            thread_reference=delivery.thread_reference,
            status=DeliveryStatus.SENT,
        )
        .exclude(provider_message_id="")
        .exclude(pk=delivery.pk)
        .order_by("-id")
        .values_list("sent_at", "provider_message_id")[:THREAD_IDS_KEPT]
    )
    dated = sorted(
        [(at, str(value)) for at, value in inbound if at]
        + [(at, str(value)) for at, value in sent if at]
    )
    return tuple(value for _, value in dated[-THREAD_IDS_KEPT:])


def _record_result(
    claimed: OutboundDelivery, result: DeliveryResult, *, attempted_at: datetime
) -> OutboundDelivery:
    """Record the try and move the delivery on, if our claim still holds it. Retried on
    temporary faults: the provider has answered, and losing that answer would send again."""
    return retry_transient(
        lambda: _record_result_once(claimed, result, attempted_at=attempted_at),
        what=f"recording delivery #{claimed.pk}",
    )


def _record_result_once(
    claimed: OutboundDelivery, result: DeliveryResult, *, attempted_at: datetime
) -> OutboundDelivery:
    with transaction.atomic():
        delivery = _held(claimed)
        DeliveryAttempt.objects.create(
            delivery=claimed,
            attempted_at=attempted_at,
            outcome=result.outcome,
            provider_message_id=result.provider_message_id,
            error=result.error,
        )
        if delivery is None:
            # Taken over while we sent (our lease ran out): the try is in the history, the
            # delivery is the new holder's to record.
            logger.warning(
                "Delivery #%s: lease lost during the send; result %s kept as history only",
                claimed.pk,
                result.outcome,
            )
            return OutboundDelivery.objects.get(pk=claimed.pk)
        delivery.attempts += 1
        delivery.last_error = result.error
        if result.outcome is DeliveryOutcome.SENT:
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = attempted_at
            delivery.provider_message_id = result.provider_message_id
            delivery.next_attempt_at = None
        elif (
            result.outcome is DeliveryOutcome.PERMANENT_FAILURE
            or delivery.attempts >= settings.CIVICDESK_DELIVERY_MAX_ATTEMPTS
        ):
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.status = DeliveryStatus.RETRYING
            delivery.next_attempt_at = delivery_policy.next_attempt_at(
                now=attempted_at, attempts_made=delivery.attempts, retry_after=result.retry_after
            )
        delivery.save()
        if delivery.status == DeliveryStatus.SENT:
            # Receipts the provider sent before it answered the send are applied now, in order.
            receipts.apply_early_receipts(delivery=delivery)
        if delivery.status == DeliveryStatus.RETRYING:
            schedule_retry(delivery)
        _publish(delivery)
        if delivery.status == DeliveryStatus.FAILED:
            fall_back(delivery, reason=result.error or "permanent failure")
    return delivery


def _publish(delivery: OutboundDelivery) -> None:
    publish(
        "delivery.updated",
        {
            "delivery_id": delivery.pk,
            "status": delivery.status,
            "thread_reference": delivery.thread_reference,
        },
    )


def retry_due_deliveries() -> int:
    """Attempt every delivery whose retry time has come, and every send whose worker died
    (its lease ran out).

    Returns how many were tried.
    """
    moment = now()
    due = list(
        OutboundDelivery.objects.filter(
            Q(status=DeliveryStatus.RETRYING, next_attempt_at__lte=moment)
            | sending_lease.abandoned_sending(at=moment)
        ).values_list("pk", flat=True)
    )
    for delivery_id in due:
        attempt_delivery(delivery_id=delivery_id)
    return len(due)
