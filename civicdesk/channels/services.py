"""The channels framework: inbound payloads in, deliveries out.

Inbound: verify → store raw (deduplicated by provider id) → process now or in a task. A payload
that fails stays stored with its error and can be replayed. Outbound: queue a delivery, send it
through the channel's adapter in a task, retry temporary failures with backoff. Private notes
never leave: `queue_delivery` refuses them, whoever asks.
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from civicdesk.channels import delivery_policy, receipts, registry
from civicdesk.channels.accounts import account_config
from civicdesk.channels.contracts import (
    DeliveryOutcome,
    DeliveryResult,
    InboundMessage,
    InvalidPayload,
    NoMessage,
    OutgoingMessage,
    RawPayload,
)
from civicdesk.channels.models import (
    ChannelAccount,
    DeliveryAttempt,
    DeliveryStatus,
    InboundPayload,
    OutboundDelivery,
    PayloadStatus,
)
from civicdesk.core.clock import now
from civicdesk.core.errors import DomainError, NotFound
from civicdesk.core.limits import SUBJECT_MAX_LENGTH
from civicdesk.realtime.publish import publish

logger = logging.getLogger(__name__)


# How long a duplicate waits for the first copy, still being processed, to finish.
DUPLICATE_WAIT_SECONDS = 5
# A payload received this long ago and still not picked up was never enqueued.
UNCLAIMED_AFTER = timedelta(minutes=2)
# Processing that started this long ago and never finished was interrupted (a worker died).
STALE_PROCESSING = timedelta(minutes=10)


class PrivateMessageRefused(DomainError):
    code = "private_message"


@dataclass(frozen=True)
class Acceptance:
    payload: InboundPayload
    is_duplicate: bool

    @property
    def succeeded(self) -> bool:
        return self.payload.status == PayloadStatus.PROCESSED


def accept_inbound(
    *,
    channel: str,
    raw: RawPayload,
    account: ChannelAccount | None = None,
    process_now: bool = False,
    verified: bool = False,
) -> Acceptance:
    """Store what a channel delivered and set it on its way. Never loses the payload.

    With `process_now` the payload is processed before returning (the portal and the API answer
    with the case reference); otherwise a task processes it. Either way a failure is recorded on
    the payload, never raised to the sender; a payload the adapter cannot parse is stored as
    failed. A provider id seen before returns the earlier payload and does nothing.
    """
    adapter = registry.adapter_for(channel)
    if not verified:
        adapter.verify(raw, account_config(adapter=adapter, account=account))
    parse_error = ""
    provider_id: str | None = None
    carries_message = True
    try:
        provider_id = adapter.parse_inbound(raw).provider_message_id
    except NoMessage:
        carries_message = False  # receipts only: kept for the record, nothing to process
    except InvalidPayload as exc:
        parse_error = f"Invalid payload: {exc}"
    except Exception as exc:
        logger.exception("Adapter %s could not read a payload", channel)
        parse_error = f"Invalid payload: could not be read ({exc!r})"

    if provider_id:
        earlier = InboundPayload.objects.filter(
            channel=channel, account=account, provider_message_id=provider_id
        ).first()
        if earlier is not None:
            if process_now:
                earlier = _wait_while_in_progress(earlier)
            return Acceptance(payload=earlier, is_duplicate=True)
    try:
        with transaction.atomic():
            payload = InboundPayload.objects.create(
                channel=channel,
                account=account,
                provider_message_id=provider_id or None,
                content_type=raw.content_type,
                headers=dict(raw.headers),
                body=raw.body,
                status=PayloadStatus.FAILED
                if parse_error
                else (PayloadStatus.RECEIVED if carries_message else PayloadStatus.PROCESSED),
                error=parse_error,
                processed_at=None if carries_message else now(),
            )
    except IntegrityError:
        # The same provider id arrived concurrently: the first one stored wins.
        earlier = InboundPayload.objects.get(
            channel=channel, account=account, provider_message_id=provider_id
        )
        return Acceptance(payload=earlier, is_duplicate=True)

    if parse_error:
        logger.warning("Inbound %s payload %s rejected: %s", channel, payload.pk, parse_error)
    elif not carries_message:
        pass
    elif process_now:
        process_payload(payload_id=payload.pk)
        payload.refresh_from_db()
    else:
        from civicdesk.channels.tasks import process_inbound_payload

        # Robust: a queue that is down must not turn a stored payload into an error for the
        # sender; the sweep enqueues payloads left waiting.
        transaction.on_commit(
            lambda: process_inbound_payload.enqueue(payload_id=payload.pk), robust=True
        )
    return Acceptance(payload=payload, is_duplicate=False)


def _wait_while_in_progress(payload: InboundPayload) -> InboundPayload:
    """The same message sent twice at once (a double click): let the first one finish, so
    that both senders get its outcome rather than one of them a "still working" answer."""
    deadline = time.monotonic() + DUPLICATE_WAIT_SECONDS
    while payload.status in (PayloadStatus.RECEIVED, PayloadStatus.PROCESSING):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
        payload.refresh_from_db()
    return payload


def parse_stored_payload(payload: InboundPayload) -> InboundMessage:
    raw = RawPayload(
        body=bytes(payload.body),
        content_type=payload.content_type,
        headers=payload.headers,
    )
    return registry.adapter_for(payload.channel).parse_inbound(raw)


def process_payload(*, payload_id: int) -> InboundPayload:
    """Hand a stored payload to the inbound handler, recording the outcome. Idempotent.

    A payload left "processing" by a worker that died is taken over once it is stale.
    """
    claimable = Q(status__in=[PayloadStatus.RECEIVED, PayloadStatus.FAILED]) | Q(
        status=PayloadStatus.PROCESSING, updated_at__lt=now() - STALE_PROCESSING
    )
    claimed = InboundPayload.objects.filter(claimable, pk=payload_id).update(
        status=PayloadStatus.PROCESSING, attempts=F("attempts") + 1, updated_at=now()
    )
    payload = InboundPayload.objects.get(pk=payload_id)
    if not claimed:
        return payload  # already processed, or being processed elsewhere
    try:
        with transaction.atomic():
            message = parse_stored_payload(payload)
            result = registry.inbound_handler()(message, payload.pk)
            if isinstance(result, str):
                result = registry.InboundOutcome(case_reference=result)
            payload.status = PayloadStatus.PROCESSED
            payload.error = ""
            payload.result_reference = result.case_reference
            payload.processed_at = now()
            payload.save(
                update_fields=[
                    "status",
                    "error",
                    "result_reference",
                    "processed_at",
                    "updated_at",
                ]
            )
    except Exception as exc:
        logger.exception("Inbound %s payload %s failed", payload.channel, payload_id)
        detail = str(exc.message) if isinstance(exc, DomainError) else repr(exc)
        InboundPayload.objects.filter(pk=payload_id).update(
            status=PayloadStatus.FAILED,
            error=f"{detail}\n\n{traceback.format_exc(limit=8)}",
            updated_at=now(),
        )
        payload.refresh_from_db()
        publish("payload.failed", {"payload_id": payload.pk, "channel": payload.channel})
    return payload


def replay_payload(*, payload_id: int) -> InboundPayload:
    """Process a stored payload again, after the cause of its failure was fixed."""
    payload = InboundPayload.objects.filter(pk=payload_id).first()
    if payload is None:
        raise NotFound(f"No inbound payload #{payload_id}")
    if payload.status == PayloadStatus.PROCESSED:
        raise DomainError(f"Payload #{payload_id} was processed already")
    if payload.status == PayloadStatus.PROCESSING and payload.updated_at >= (
        now() - STALE_PROCESSING
    ):
        raise DomainError(f"Payload #{payload_id} is being processed right now")
    if payload.error.startswith("Invalid payload:"):
        # Re-check: a fixed adapter may now understand it.
        try:
            parse_stored_payload(payload)
        except Exception as exc:
            InboundPayload.objects.filter(pk=payload_id).update(error=f"Invalid payload: {exc}")
            raise DomainError(f"Payload #{payload_id} still cannot be parsed: {exc}") from exc
    return process_payload(payload_id=payload_id)


# --- Outbound ---------------------------------------------------------------------------------


def queue_delivery(
    *, message: OutgoingMessage, account: ChannelAccount | None = None
) -> OutboundDelivery:
    """Queue one message for sending after the current transaction commits.

    The one guard every outbound path passes: private content is refused here.
    """
    if message.is_private:
        raise PrivateMessageRefused("Internal notes are never sent to citizens.")
    adapter = registry.adapter_for(message.channel)
    if adapter.needs_recipient and not message.recipient:
        raise DomainError(f"No {adapter.label} address to reply to for this citizen.")
    delivery = OutboundDelivery.objects.create(
        channel=message.channel,
        account=account,
        recipient=message.recipient,
        subject=message.subject[:SUBJECT_MAX_LENGTH],
        body=message.body,
        thread_reference=message.thread_reference,
    )
    from civicdesk.channels.tasks import deliver

    transaction.on_commit(lambda: deliver.enqueue(delivery_id=delivery.pk), robust=True)
    return delivery


# A send that started this long ago and never reported back was interrupted (a worker died).
STALE_SENDING = timedelta(minutes=10)


def _claim_delivery(delivery_id: int) -> OutboundDelivery | None:
    """Mark a delivery as being sent, in a short transaction of its own; None if not ours."""
    with transaction.atomic():
        delivery = OutboundDelivery.objects.select_for_update().get(pk=delivery_id)
        stale = delivery.status == DeliveryStatus.SENDING and delivery.updated_at < (
            now() - STALE_SENDING
        )
        if delivery.status not in (DeliveryStatus.PENDING, DeliveryStatus.RETRYING) and not stale:
            return None
        delivery.status = DeliveryStatus.SENDING
        delivery.save(update_fields=["status", "updated_at"])
        return delivery


def attempt_delivery(*, delivery_id: int) -> OutboundDelivery:
    """Send a queued delivery once; schedule a retry for temporary failures. Idempotent.

    The provider is called outside any transaction: a slow provider must not hold a lock
    (on SQLite, the database's only write lock) while it thinks.
    """
    from django.conf import settings

    delivery = _claim_delivery(delivery_id)
    if delivery is None:
        return OutboundDelivery.objects.get(pk=delivery_id)
    adapter = registry.adapter_for(delivery.channel)
    outgoing = OutgoingMessage(
        channel=delivery.channel,
        recipient=delivery.recipient,
        subject=delivery.subject,
        body=delivery.body,
        thread_reference=delivery.thread_reference,
    )
    config = account_config(adapter=adapter, account=delivery.account)
    attempted_at = now()
    try:
        result = adapter.send(outgoing, config)
    except Exception as exc:
        logger.exception("Adapter %s raised while sending #%s", delivery.channel, delivery_id)
        result = DeliveryResult.temporary_failure(f"adapter error: {exc!r}")
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            attempted_at=attempted_at,
            outcome=result.outcome,
            provider_message_id=result.provider_message_id,
            error=result.error,
        )
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
            receipts.apply_early_receipts(delivery=delivery)
        if delivery.status == DeliveryStatus.RETRYING:
            _schedule_retry(delivery)
        publish(
            "delivery.updated",
            {
                "delivery_id": delivery.pk,
                "status": delivery.status,
                "thread_reference": delivery.thread_reference,
            },
        )
    return delivery


def _schedule_retry(delivery: OutboundDelivery) -> None:
    from civicdesk.channels.tasks import deliver

    if deliver.get_backend().supports_defer:
        run_after = delivery.next_attempt_at
        transaction.on_commit(
            lambda: deliver.using(run_after=run_after).enqueue(delivery_id=delivery.pk),
            robust=True,
        )
    # A backend that cannot defer (the immediate one, in tests) leaves the retry to
    # `retry_due_deliveries`, which an operator or a scheduler calls.


def retry_due_deliveries() -> int:
    """Attempt every delivery whose retry time has come, and every interrupted send.

    Returns how many were tried.
    """
    due = list(
        OutboundDelivery.objects.filter(
            Q(status=DeliveryStatus.RETRYING, next_attempt_at__lte=now())
            | Q(status=DeliveryStatus.SENDING, updated_at__lt=now() - STALE_SENDING)
        ).values_list("pk", flat=True)
    )
    for delivery_id in due:
        attempt_delivery(delivery_id=delivery_id)
    return len(due)


@dataclass(frozen=True)
class SweepReport:
    payloads_enqueued: int
    deliveries_enqueued: int
    deliveries_tried: int


def sweep() -> SweepReport:
    """Set going again whatever was left behind: payloads and deliveries never enqueued (the
    queue was down at commit) or abandoned by a worker that died, and retries that are due.

    Safe to run at any time and as often as wanted: processing and sending claim their work.
    """
    from civicdesk.channels.tasks import deliver, process_inbound_payload

    moment = now()
    waiting_payloads = InboundPayload.objects.filter(
        Q(status=PayloadStatus.RECEIVED, created_at__lt=moment - UNCLAIMED_AFTER)
        | Q(status=PayloadStatus.PROCESSING, updated_at__lt=moment - STALE_PROCESSING)
    ).values_list("pk", flat=True)
    payload_ids = list(waiting_payloads)
    for payload_id in payload_ids:
        process_inbound_payload.enqueue(payload_id=payload_id)
    pending = OutboundDelivery.objects.filter(
        status=DeliveryStatus.PENDING, created_at__lt=moment - UNCLAIMED_AFTER
    ).values_list("pk", flat=True)
    delivery_ids = list(pending)
    for delivery_id in delivery_ids:
        deliver.enqueue(delivery_id=delivery_id)
    return SweepReport(
        payloads_enqueued=len(payload_ids),
        deliveries_enqueued=len(delivery_ids),
        deliveries_tried=retry_due_deliveries(),
    )
