"""The channels framework: inbound payloads in, deliveries out.

Inbound: verify → store raw (deduplicated by provider id) → process now, or later by the
workers' ingest loop in batches (`process_waiting`, see channels.ingest; with the `immediate`
task backend, at once after commit). A payload that fails stays stored with its error and can
be replayed; a temporary fault puts it back in the waiting line instead. Outbound: queue a
delivery, send it through the channel's adapter in a task, retry temporary failures with
backoff. Private notes never leave: `queue_delivery` refuses them, whoever asks.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from civicdesk.channels import guards, idempotency, payload_store, registry, sending_lease
from civicdesk.channels.accounts import account_config, ensure_account
from civicdesk.channels.contracts import (
    ChannelAdapter,
    InboundMessage,
    InboundSketch,
    InvalidPayload,
    NoMessage,
    RawPayload,
    SenderContact,
)
from civicdesk.channels.delivery import (
    PrivateMessageRefused,
    attempt_delivery,
    queue_delivery,
    retry_due_deliveries,
)
from civicdesk.channels.ingest import (
    LEASE,
    backoff,
    failure_text,
    handle_payload,
    process_waiting,
    worker_id,
)
from civicdesk.channels.models import (
    ChannelAccount,
    InboundPayload,
    OutboundDelivery,
    PayloadStatus,
)
from civicdesk.channels.polling import (
    AccountPoll,
    PollReport,
    poll_account,
    poll_accounts,
)
from civicdesk.channels.registry import BatchItem, InboundOutcome
from civicdesk.channels.stored import parse_stored_payload
from civicdesk.core.clock import now
from civicdesk.core.errors import DomainError, NotFound
from civicdesk.core.savepoints import savepoint_covers
from civicdesk.core.transient import is_transient
from civicdesk.realtime.publish import publish

# Outbound lives in channels.delivery; callers import it from here.
__all__ = [
    "Acceptance",
    "AccountPoll",
    "BatchItem",
    "InboundOutcome",
    "PollReport",
    "PrivateMessageRefused",
    "Processing",
    "accept_inbound",
    "attempt_delivery",
    "ensure_account",
    "parse_stored_payload",
    "poll_account",
    "poll_accounts",
    "process_payload",
    "process_waiting",
    "queue_delivery",
    "register_batch_handler",
    "register_fallback_handler",
    "register_inbound_handler",
    "register_reference_allocator",
    "register_unreachable_handler",
    "replay_payload",
    "retry_due_deliveries",
    "sweep",
]

logger = logging.getLogger(__name__)


# How long a duplicate waits for the first copy, still being processed, to finish.
DUPLICATE_WAIT_SECONDS = 5
# A payload received this long ago and still not picked up was never enqueued (task backends
# without the ingest loop: `immediate`).
UNCLAIMED_AFTER = timedelta(minutes=2)
_CONTENT_TYPE_LENGTH = InboundPayload._meta.get_field("content_type").max_length or 120


def ingest_loop_runs() -> bool:
    """Whether `civicdesk worker` runs the ingest loop (`process_waiting`): with the database
    and RQ task backends. Then nothing is enqueued per payload: the loop finds them."""
    return settings.TASK_BACKEND in ("database", "rq")


def register_inbound_handler(handler: registry.InboundHandler) -> None:
    """The domain that turns stored messages into work (cases) registers itself here, once at
    start-up, so that this framework never imports it."""
    registry.set_inbound_handler(handler)


def register_batch_handler(handler: registry.BatchHandler | None) -> None:
    """The domain may also take a worker's batch at once, with set-based writes (see
    channels.ingest); what it leaves goes to the inbound handler one payload at a time."""
    registry.set_batch_handler(handler)


def register_reference_allocator(
    allocator: registry.ReferenceAllocator | None,
    *,
    expression: registry.ReferenceExpression | None = None,
) -> None:
    """Who numbers cases gives acknowledged contacts their reference before the case exists
    (and, where it can, the same as an SQL expression: see `registry.reference_expression`)."""
    registry.set_reference_allocator(allocator, expression=expression)


def register_fallback_handler(handler: registry.FallbackHandler | None) -> None:
    """Who hears of a reply moved to another channel (cases, to record it on the case)."""
    registry.set_fallback_handler(handler)


def register_unreachable_handler(handler: registry.UnreachableHandler | None) -> None:
    """Who keeps contact points hears of an address a provider said is gone (a hard bounce)."""
    registry.set_unreachable_handler(handler)


@dataclass(frozen=True)
class Acceptance:
    payload: InboundPayload
    is_duplicate: bool
    # What the inbound handler made of it, when it was processed (now, or earlier for a
    # duplicate); None while it waits, failed, or was held (throttled, ignored).
    outcome: InboundOutcome | None = None
    # With `bind_body`: the provider id was used before for another body. Nothing was stored;
    # `payload` is the earlier one.
    conflict: bool = False

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


def _repeat(
    earlier: InboundPayload, *, body_digest: str, bind_body: bool, process_now: bool
) -> Acceptance:
    """The answer to a provider id seen before: the earlier payload, or a conflict."""
    if bind_body and earlier.body_digest and earlier.body_digest != body_digest:
        return Acceptance(payload=earlier, is_duplicate=True, conflict=True)
    if process_now:
        earlier = _wait_while_in_progress(earlier)
    return Acceptance(payload=earlier, is_duplicate=True, outcome=_earlier_outcome(earlier))


def _superseded_by_resend(earlier: InboundPayload, *, body_digest: str, bind_body: bool) -> bool:
    """A corrected resend: the key is bound to the body, and the earlier body failed."""
    return (
        bind_body and earlier.status == PayloadStatus.FAILED and earlier.body_digest != body_digest
    )


def accept_inbound(
    *,
    channel: str,
    raw: RawPayload,
    account: ChannelAccount | None = None,
    process_now: bool = False,
    verified: bool = False,
    reserve_reference: bool = False,
    scope: str = "",
    bind_body: bool = False,
) -> Acceptance:
    """Store what a channel delivered and set it on its way. Never loses the payload.

    The payload is read once here: the provider id, the sender (for the rate limit and the
    own-identity check) and, with `process_now`, the message handed to the handler all come
    from that one read. A payload left to the workers is admitted on its adapter's sketch
    when it has one (`ChannelAdapter.sketch`: email reads the headers only), and stored
    received; the worker parses it in full, and one that then cannot be read is recorded
    failed with the reason, as it would have been here (replayable). Without a sketch, and
    always with `process_now` or `reserve_reference`, it is parsed in full here. With
    `process_now` the payload is processed before returning
    (the portal and the API answer with the outcome); otherwise the workers' ingest loop
    processes it (or, with the `immediate` task backend, a task right after commit). A
    failure is recorded on the payload, never raised to the sender; a payload the adapter
    cannot parse is stored as failed; one from the account's own identity is stored as
    ignored; one over its sender's rate limit is stored as throttled. A provider id seen
    before returns the earlier payload and does nothing.

    `reserve_reference`: give the payload a case reference now, in the same write, so that
    the sender can quote it before the case exists (the portal and the API; not when the
    message names the case it joins).

    `scope`: who numbers the provider ids of an account-less channel (the API token), so
    that two senders' ids never collide. `bind_body`: a provider id is an idempotency key
    tied to the body (the API): the same id with another body is a conflict (nothing is
    stored), unless the earlier payload failed, in which case the new one supersedes it (a
    corrected resend), keeping its reference.

    Cost: one INSERT under autocommit on PostgreSQL, reference included (on SQLite the
    counter row is updated first, in one transaction with the INSERT); a provider id seen
    before costs the refused INSERT and one SELECT (see channels.payload_store).
    """
    adapter = registry.adapter_for(channel)
    config = account_config(adapter=adapter, account=account)
    if not verified:
        adapter.verify(raw, config)
    # Stored for the workers, a payload may be admitted on the adapter's cheap sketch, read
    # in full by the worker (see `_sketch`); otherwise, and when it must be processed now or
    # numbered (which needs to know whether it names a case), it is parsed in full here.
    sketch = None if process_now or reserve_reference else _sketch(adapter, raw)
    if sketch is not None:
        message, carries_message, parse_error = None, sketch.carries_message, ""
        known_id, sender = sketch.provider_message_id, sketch.sender
    else:
        message, carries_message, parse_error = _parse(adapter, raw)
        known_id = message.provider_message_id if message else _unread_payload_id(adapter, raw)
        sender = message.sender if message else ()
    # Stored as text: PostgreSQL refuses a NUL, which would leave the payload unstored.
    provider_id = guards.storable_text(known_id or "") if known_id else None
    body_digest = idempotency.body_digest(raw)
    status, error = _admission(
        sender if message is not None or (sketch is not None and carries_message) else None,
        parse_error,
        channel=channel,
        adapter=adapter,
        config=config,
    )
    names_case = bool(message and (message.case_reference or message.reply_token_digest))
    reserve = reserve_reference and message is not None and not names_case
    moment = now()
    fields = {
        "token_digest": (message.new_case_token_digest if message else "") or "",
        "channel": channel,
        "account": account,
        "scope": scope,
        "provider_message_id": provider_id or None,
        "body_digest": body_digest,
        # Cut to its column: a longer one (a sender's own Content-Type) would fail the INSERT on
        # PostgreSQL and lose the payload, every time it is resent.
        "content_type": raw.content_type[:_CONTENT_TYPE_LENGTH],
        "headers": dict(raw.headers),
        "body": raw.body,
        "status": status,
        "error": error,
        "sender_identity": guards.sender_identity(sender),
        "held_until": guards.held_until() if status == PayloadStatus.THROTTLED else None,
        "processed_at": None if carries_message else moment,
    }
    at = (message.received_at if message else None) or moment

    def holding_id() -> InboundPayload | None:
        return InboundPayload.objects.filter(
            channel=channel,
            account=account,
            scope=scope,
            provider_message_id=provider_id,
            superseded_at__isnull=True,
        ).first()

    try:
        payload = payload_store.store_payload(fields=fields, reserve_reference=reserve, at=at)
    except IntegrityError:
        earlier = holding_id() if provider_id else None
        if earlier is None:  # not a provider id held already: a real error, be loud
            raise
        if not _superseded_by_resend(earlier, body_digest=body_digest, bind_body=bind_body):
            return _repeat(
                earlier, body_digest=body_digest, bind_body=bind_body, process_now=process_now
            )
        try:
            payload = payload_store.store_superseding(
                fields=fields, superseding=earlier, reserve_reference=reserve
            )
        except (IntegrityError, payload_store.SupersedeRaced):
            # Another resend superseded it first: the first one stored wins.
            winner = holding_id()
            if winner is None:  # pragma: no cover - the winner cannot vanish; be loud if it does
                raise
            return _repeat(winner, body_digest=body_digest, bind_body=bind_body, process_now=False)

    return _set_on_its_way(payload, message, process_now=process_now)


def _set_on_its_way(
    payload: InboundPayload, message: InboundMessage | None, *, process_now: bool
) -> Acceptance:
    """A payload just stored: processed now, enqueued, or (held, failed, ignored) left."""
    if payload.status != PayloadStatus.RECEIVED:
        if payload.error:
            logger.warning(
                "Inbound %s payload %s %s: %s",
                payload.channel,
                payload.pk,
                payload.status,
                payload.error,
            )
        return Acceptance(payload=payload, is_duplicate=False)
    if process_now:
        processing = process_payload(payload_id=payload.pk, message=message)
        return Acceptance(
            payload=processing.payload, is_duplicate=False, outcome=processing.outcome
        )
    _enqueue_processing(payload.pk)
    return Acceptance(payload=payload, is_duplicate=False)


def _admission(
    sender: tuple[SenderContact, ...] | None,
    parse_error: str,
    *,
    channel: str,
    adapter: ChannelAdapter,
    config: object,
) -> tuple[str, str]:
    """The status a payload is stored with, and why (`sender`: None when it carries no
    message)."""
    if parse_error:
        return PayloadStatus.FAILED, parse_error
    if sender is None:
        return PayloadStatus.PROCESSED, ""  # receipts only: kept for the record
    return guards.admission(sender, channel=channel, adapter=adapter, config=config)


def _sketch(adapter: ChannelAdapter, raw: RawPayload) -> InboundSketch | None:
    """The adapter's cheap read for admission (`ChannelAdapter.sketch`); None, and the full
    parse at once, when it has none or it fails (never raises: the payload is stored)."""
    try:
        return adapter.sketch(raw)
    except Exception:
        logger.exception("Adapter %s could not sketch a payload; parsed in full", adapter.kind)
        return None


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


def _unread_payload_id(adapter: ChannelAdapter, raw: RawPayload) -> str | None:
    """The id of a payload the adapter could not read, if its bytes name it (never raises: the
    payload is stored whatever happens here)."""
    try:
        return adapter.unread_payload_id(raw)
    except Exception:
        logger.exception("Adapter %s could not name an unreadable payload", adapter.kind)
        return None


def _enqueue_processing(payload_id: int) -> None:
    if ingest_loop_runs():
        return  # stored is enough: the workers' ingest loop finds it, in order per sender
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


def process_payload(*, payload_id: int, message: InboundMessage | None = None) -> Processing:
    """Hand one stored payload to the inbound handler, recording the outcome. Idempotent.

    `message` is the payload already parsed (by `accept_inbound`); without it the stored bytes
    are parsed, once. The payload is claimed under a lease as `process_waiting` claims it, so
    a claim left by a worker that died is taken over once its lease has expired. A temporary
    fault puts it back to received (retried by the ingest loop or the sweep), never failed. An
    automated message's outcome says so (`automated`): nothing automatic may answer it.
    """
    moment = now()
    claimable = Q(status__in=[PayloadStatus.RECEIVED, PayloadStatus.FAILED]) | Q(
        status=PayloadStatus.PROCESSING
    ) & (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=moment))
    holder = worker_id()
    claimed = InboundPayload.objects.filter(claimable, pk=payload_id).update(
        status=PayloadStatus.PROCESSING,
        attempts=F("attempts") + 1,
        claimed_by=holder,
        lease_expires_at=moment + LEASE,
        updated_at=moment,
    )
    payload = InboundPayload.objects.get(pk=payload_id)
    if not claimed:
        return Processing(payload=payload, outcome=_earlier_outcome(payload))
    outcome: InboundOutcome | None = None
    done = {"claimed_by": "", "lease_expires_at": None, "not_before": None}
    try:
        with transaction.atomic(), savepoint_covers():
            outcome = handle_payload(payload, message)
            InboundPayload.objects.filter(pk=payload_id).update(
                status=PayloadStatus.PROCESSED,
                error="",
                result_reference=outcome.case_reference,
                processed_at=now(),
                updated_at=now(),
                **done,
            )
    except Exception as exc:
        outcome = None
        if is_transient(exc):
            logger.warning("Inbound payload %s: temporary fault, retried: %s", payload_id, exc)
            InboundPayload.objects.filter(pk=payload_id, claimed_by=holder).update(
                status=PayloadStatus.RECEIVED,
                error=f"Temporary fault, will be retried: {exc!r}",
                updated_at=now(),
                **{**done, "not_before": now() + backoff(payload.attempts)},
            )
        else:
            logger.exception("Inbound %s payload %s failed", payload.channel, payload_id)
            InboundPayload.objects.filter(pk=payload_id).update(
                status=PayloadStatus.FAILED, error=failure_text(exc), updated_at=now(), **done
            )
            publish("payload.failed", {"payload_id": payload.pk, "channel": payload.channel})
    payload.refresh_from_db()
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
    if payload.status == PayloadStatus.PROCESSING and (
        payload.lease_expires_at is not None and payload.lease_expires_at >= now()
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

    Throttled payloads whose sender's window has passed are released (received again). Where
    the workers run the ingest loop (database and RQ task backends) that is all the sweep does
    for payloads: the loop takes waiting ones, and claims whose lease expired, by itself.
    Otherwise (`immediate`) the waiting and abandoned ones are enqueued here.

    Safe to run at any time and as often as wanted: processing and sending claim their work.
    """
    from civicdesk.channels.tasks import deliver, process_inbound_payload

    moment = now()
    released = list(
        InboundPayload.objects.filter(
            status=PayloadStatus.THROTTLED, held_until__lte=moment
        ).values_list("pk", flat=True)
    )
    # Their sender's window has passed: released as if just received, processed in order.
    InboundPayload.objects.filter(pk__in=released, status=PayloadStatus.THROTTLED).update(
        status=PayloadStatus.RECEIVED, held_until=None, updated_at=moment
    )
    payload_ids = list(released)
    if not ingest_loop_runs():
        payload_ids = (
            list(
                InboundPayload.objects.filter(
                    Q(status=PayloadStatus.RECEIVED, created_at__lt=moment - UNCLAIMED_AFTER)
                    | Q(status=PayloadStatus.PROCESSING, lease_expires_at__lt=moment)
                    | Q(status=PayloadStatus.PROCESSING, lease_expires_at__isnull=True)
                )
                .exclude(pk__in=released)
                .order_by("id")
                .values_list("pk", flat=True)
            )
            + released
        )
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
