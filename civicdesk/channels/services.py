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

from civicdesk.channels import registry
from civicdesk.channels.accounts import account_config
from civicdesk.channels.contracts import (
    InboundMessage,
    InvalidPayload,
    NoMessage,
    RawPayload,
)
from civicdesk.channels.delivery import (
    PrivateMessageRefused,
    attempt_delivery,
    queue_delivery,
    retry_due_deliveries,
)
from civicdesk.channels.models import (
    ChannelAccount,
    DeliveryStatus,
    InboundPayload,
    OutboundDelivery,
    PayloadStatus,
)
from civicdesk.core.clock import now
from civicdesk.core.errors import DomainError, NotFound
from civicdesk.realtime.publish import publish

# Outbound lives in channels.delivery; callers import it from here.
__all__ = [
    "Acceptance",
    "PrivateMessageRefused",
    "accept_inbound",
    "attempt_delivery",
    "process_payload",
    "queue_delivery",
    "replay_payload",
    "retry_due_deliveries",
    "sweep",
]

logger = logging.getLogger(__name__)


# How long a duplicate waits for the first copy, still being processed, to finish.
DUPLICATE_WAIT_SECONDS = 5
# A payload received this long ago and still not picked up was never enqueued.
UNCLAIMED_AFTER = timedelta(minutes=2)
# Processing that started this long ago and never finished was interrupted (a worker died).
STALE_PROCESSING = timedelta(minutes=10)


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
            channel=channel, provider_message_id=provider_id
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
        earlier = InboundPayload.objects.get(channel=channel, provider_message_id=provider_id)
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
            result = registry.call_inbound_handler(
                message, payload_id=payload.pk, account_id=payload.account_id
            )
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
