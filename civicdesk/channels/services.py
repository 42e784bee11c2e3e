"""The channels framework: inbound payloads in, deliveries out.

Inbound: verify → store raw (deduplicated by provider id) → process now or in a task. A payload
that fails stays stored with its error and can be replayed. Outbound: queue a delivery, send it
through the channel's adapter in a task, retry temporary failures with backoff. Private notes
never leave: `queue_delivery` refuses them, whoever asks.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q

from civicdesk.channels import guards, registry, sending_lease
from civicdesk.channels.accounts import account_config
from civicdesk.channels.contracts import (
    ChannelAdapter,
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
    InboundPayload,
    OutboundDelivery,
    PayloadStatus,
)
from civicdesk.channels.polling import PollReport, poll_accounts
from civicdesk.channels.registry import InboundOutcome
from civicdesk.core.clock import now
from civicdesk.core.errors import DomainError, NotFound
from civicdesk.realtime.publish import publish

# Outbound lives in channels.delivery; callers import it from here.
__all__ = [
    "Acceptance",
    "InboundOutcome",
    "PollReport",
    "PrivateMessageRefused",
    "Processing",
    "accept_inbound",
    "attempt_delivery",
    "poll_accounts",
    "process_payload",
    "queue_delivery",
    "register_fallback_handler",
    "register_inbound_handler",
    "register_reference_allocator",
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


def register_inbound_handler(handler: registry.InboundHandler) -> None:
    """The domain that turns stored messages into work (cases) registers itself here, once at
    start-up, so that this framework never imports it."""
    registry.set_inbound_handler(handler)


def register_reference_allocator(allocator: registry.ReferenceAllocator | None) -> None:
    """Who numbers cases gives acknowledged contacts their reference before the case exists."""
    registry.set_reference_allocator(allocator)


def register_fallback_handler(handler: registry.FallbackHandler | None) -> None:
    """Who hears of a reply moved to another channel (cases, to record it on the case)."""
    registry.set_fallback_handler(handler)


@dataclass(frozen=True)
class Acceptance:
    payload: InboundPayload
    is_duplicate: bool
    # What the inbound handler made of it, when it was processed (now, or earlier for a
    # duplicate); None while it waits, failed, or was held (throttled, ignored).
    outcome: InboundOutcome | None = None

    @property
    def succeeded(self) -> bool:
        return self.payload.status == PayloadStatus.PROCESSED


@dataclass(frozen=True)
class Processing:
    """One processing of a stored payload: the payload as it now stands and the outcome."""

    payload: InboundPayload
    outcome: InboundOutcome | None


def _earlier_outcome(payload: InboundPayload) -> InboundOutcome | None:
    if payload.status != PayloadStatus.PROCESSED or not payload.result_reference:
        return None
    return InboundOutcome(case_reference=payload.result_reference)


def accept_inbound(
    *,
    channel: str,
    raw: RawPayload,
    account: ChannelAccount | None = None,
    process_now: bool = False,
    verified: bool = False,
    reserve_reference: bool = False,
) -> Acceptance:
    """Store what a channel delivered and set it on its way. Never loses the payload.

    The payload is parsed once here: the provider id, the sender (for the rate limit and
    the own-identity check) and, with `process_now`, the message handed to the handler all
    come from that one parse. With `process_now` the payload is processed before returning
    (the portal and the API answer with the outcome); otherwise a task processes it. A
    failure is recorded on the payload, never raised to the sender; a payload the adapter
    cannot parse is stored as failed; one from the account's own identity is stored as
    ignored; one over its sender's rate limit is stored as throttled. A provider id seen
    before returns the earlier payload and does nothing.

    `reserve_reference`: give the payload a case reference now, in the same write, so that
    the sender can quote it before the case exists (the portal and the API; not when the
    message names the case it joins).
    """
    adapter = registry.adapter_for(channel)
    config = account_config(adapter=adapter, account=account)
    if not verified:
        adapter.verify(raw, config)
    message, carries_message, parse_error = _parse(adapter, raw)
    provider_id = message.provider_message_id if message else None

    if provider_id:
        earlier = InboundPayload.objects.filter(
            channel=channel, account=account, provider_message_id=provider_id
        ).first()
        if earlier is not None:
            if process_now:
                earlier = _wait_while_in_progress(earlier)
            return Acceptance(payload=earlier, is_duplicate=True, outcome=_earlier_outcome(earlier))
    status: str = PayloadStatus.PROCESSED  # receipts only: kept for the record
    error = parse_error
    if parse_error:
        status = PayloadStatus.FAILED
    elif message is not None:
        status, error = guards.admission(message, adapter=adapter, config=config)
    identity = guards.sender_identity(message) if message else ""
    names_case = bool(message and (message.case_reference or message.reply_token_digest))
    try:
        with transaction.atomic():
            reference = ""
            if reserve_reference and message is not None and not names_case:
                reference = registry.allocate_reference(message.received_at or now())
            payload = InboundPayload.objects.create(
                reference=reference,
                token_digest=(message.new_case_token_digest if message else "") or "",
                channel=channel,
                account=account,
                provider_message_id=provider_id or None,
                content_type=raw.content_type,
                headers=dict(raw.headers),
                body=raw.body,
                status=status,
                error=error,
                sender_identity=identity,
                held_until=guards.held_until() if status == PayloadStatus.THROTTLED else None,
                processed_at=None if carries_message else now(),
            )
    except IntegrityError:
        # The same provider id arrived concurrently: the first one stored wins.
        earlier = InboundPayload.objects.get(
            channel=channel, account=account, provider_message_id=provider_id
        )
        return Acceptance(payload=earlier, is_duplicate=True, outcome=_earlier_outcome(earlier))

    if status != PayloadStatus.RECEIVED:
        if error:
            logger.warning("Inbound %s payload %s %s: %s", channel, payload.pk, status, error)
        return Acceptance(payload=payload, is_duplicate=False)
    if process_now:
        processing = process_payload(payload_id=payload.pk, message=message)
        return Acceptance(
            payload=processing.payload, is_duplicate=False, outcome=processing.outcome
        )
    _enqueue_processing(payload.pk)
    return Acceptance(payload=payload, is_duplicate=False)


def _parse(adapter: ChannelAdapter, raw: RawPayload) -> tuple[InboundMessage | None, bool, str]:
    """The one parse of an arriving payload: (message, carries a message, parse error)."""
    try:
        return adapter.parse_inbound(raw), True, ""
    except NoMessage:
        return None, False, ""  # receipts only: kept for the record, nothing to process
    except InvalidPayload as exc:
        return None, True, f"Invalid payload: {exc}"
    except Exception as exc:
        logger.exception("Adapter %s could not read a payload", adapter.kind)
        return None, True, f"Invalid payload: could not be read ({exc!r})"


def _enqueue_processing(payload_id: int) -> None:
    from civicdesk.channels.tasks import process_inbound_payload

    # Robust: a queue that is down must not turn a stored payload into an error for the
    # sender; the sweep enqueues payloads left waiting.
    transaction.on_commit(
        lambda: process_inbound_payload.enqueue(payload_id=payload_id), robust=True
    )


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


def process_payload(*, payload_id: int, message: InboundMessage | None = None) -> Processing:
    """Hand a stored payload to the inbound handler, recording the outcome. Idempotent.

    `message` is the payload already parsed (by `accept_inbound`); without it the stored bytes
    are parsed, once. A payload left "processing" by a worker that died is taken over once it
    is stale. An automated message's outcome says so (`automated`): nothing automatic may
    answer it.
    """
    claimable = Q(status__in=[PayloadStatus.RECEIVED, PayloadStatus.FAILED]) | Q(
        status=PayloadStatus.PROCESSING, updated_at__lt=now() - STALE_PROCESSING
    )
    claimed = InboundPayload.objects.filter(claimable, pk=payload_id).update(
        status=PayloadStatus.PROCESSING, attempts=F("attempts") + 1, updated_at=now()
    )
    payload = InboundPayload.objects.get(pk=payload_id)
    if not claimed:
        return Processing(payload=payload, outcome=_earlier_outcome(payload))
    outcome: InboundOutcome | None = None
    try:
        with transaction.atomic():
            if message is None:
                message = parse_stored_payload(payload)
            outcome = registry.call_inbound_handler(
                message,
                payload_id=payload.pk,
                account_id=payload.account_id,
                reference=payload.reference,
            )
            if message.is_automated and not outcome.automated:
                outcome = dataclasses.replace(outcome, automated=True)
            payload.status = PayloadStatus.PROCESSED
            payload.error = ""
            payload.result_reference = outcome.case_reference
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
        outcome = None
        logger.exception("Inbound %s payload %s failed", payload.channel, payload_id)
        detail = str(exc.message) if isinstance(exc, DomainError) else repr(exc)
        InboundPayload.objects.filter(pk=payload_id).update(
            status=PayloadStatus.FAILED,
            error=f"{detail}\n\n{traceback.format_exc(limit=8)}",
            updated_at=now(),
        )
        payload.refresh_from_db()
        publish("payload.failed", {"payload_id": payload.pk, "channel": payload.channel})
    return Processing(payload=payload, outcome=outcome)


def replay_payload(*, payload_id: int) -> InboundPayload:
    """Process a stored payload again, after the cause of its failure was fixed."""
    payload = InboundPayload.objects.filter(pk=payload_id).first()
    if payload is None:
        raise NotFound(f"No inbound payload #{payload_id}")
    if payload.status == PayloadStatus.PROCESSED:
        raise DomainError(f"Payload #{payload_id} was processed already")
    if payload.status == PayloadStatus.IGNORED:
        raise DomainError(f"Payload #{payload_id} came from the account itself; it is ignored")
    if payload.status == PayloadStatus.PROCESSING and payload.updated_at >= (
        now() - STALE_PROCESSING
    ):
        raise DomainError(f"Payload #{payload_id} is being processed right now")
    message: InboundMessage | None = None
    if payload.error.startswith("Invalid payload:"):
        # Re-check: a fixed adapter may now understand it (that parse is the one used).
        try:
            message = parse_stored_payload(payload)
        except Exception as exc:
            InboundPayload.objects.filter(pk=payload_id).update(error=f"Invalid payload: {exc}")
            raise DomainError(f"Payload #{payload_id} still cannot be parsed: {exc}") from exc
    if payload.status == PayloadStatus.THROTTLED:
        # An administrator releases it before its sender's window has passed.
        InboundPayload.objects.filter(pk=payload_id, status=PayloadStatus.THROTTLED).update(
            status=PayloadStatus.RECEIVED, held_until=None, updated_at=now()
        )
    return process_payload(payload_id=payload_id, message=message).payload


@dataclass(frozen=True)
class SweepReport:
    payloads_enqueued: int  # including throttled payloads released
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
    released = list(
        InboundPayload.objects.filter(
            status=PayloadStatus.THROTTLED, held_until__lte=moment
        ).values_list("pk", flat=True)
    )
    # Their sender's window has passed: released as if just received, processed in order.
    InboundPayload.objects.filter(pk__in=released, status=PayloadStatus.THROTTLED).update(
        status=PayloadStatus.RECEIVED, held_until=None, updated_at=moment
    )
    payload_ids += released
    for payload_id in payload_ids:
        process_inbound_payload.enqueue(payload_id=payload_id)
    pending = OutboundDelivery.objects.filter(
        sending_lease.unclaimed_pending(at=moment)
    ).values_list("pk", flat=True)
    delivery_ids = list(pending)
    for delivery_id in delivery_ids:
        deliver.enqueue(delivery_id=delivery_id)
    return SweepReport(
        payloads_enqueued=len(payload_ids),
        deliveries_enqueued=len(delivery_ids),
        deliveries_tried=retry_due_deliveries(),
    )
