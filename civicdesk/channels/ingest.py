"""Workers take stored payloads in batches: claimed under a lease, in arrival order per sender.

The claim. `process_waiting` claims up to `limit` payloads waiting to be processed, oldest first,
and never one whose sender has an earlier payload still waiting or being processed by someone
else: each sender's messages reach their case in the order they arrived. A claim is a lease
(`claimed_by`, `lease_expires_at`, LEASE long): the worker renews it while it works, and a claim
whose lease expired (its worker was killed) is claimable again, so the next worker takes it
over within LEASE, with nobody involved. On PostgreSQL the claim step is serialised by a
transaction-level advisory lock (one short transaction, so the per-sender rule sees every claim
committed before it) and rows are taken `FOR UPDATE SKIP LOCKED`; SQLite's single writer
(`BEGIN IMMEDIATE`) serialises it by itself.

The batch. One transaction for the whole batch, opened by re-reading the claimed rows under a
row lock (renewing the lease and proving they are still ours: a worker that stalled past its
lease finds them taken over and does nothing), then one savepoint per payload: a payload that
fails permanently (DomainError, a payload that cannot be parsed) rolls back alone and is
recorded failed with its error, replayable; the others commit. Their statuses are written in
one UPDATE at the end, live updates leave as one outbox write after commit, and catalogue,
queue and policy lookups are read once per batch (`core.memo`). A batch that fails outside its
payloads (a write of the batch's own) is processed again one payload per transaction, so that
it never stays claimed, taken again after every lease ahead of everything behind it.

Temporary faults (`core.transient.is_transient`: a locked SQLite database, a deadlock, a lost
connection) roll the whole batch back and put its payloads back to received with the attempt
counted and a short backoff (`not_before`); they are never recorded as failed.

Exactly once: a payload's case and its processed status commit together, a processed payload is
never claimed again, and the reserved reference is unique on cases, so a payload processed a
second time (a takeover racing a slow worker) finds its case and writes nothing more.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import socket
import threading
import time
import traceback
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Min, Q

from civicdesk.channels import registry
from civicdesk.channels.contracts import InboundMessage
from civicdesk.channels.guards import storable_text
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.channels.registry import InboundOutcome
from civicdesk.channels.stored import UnreadablePayload, parse_stored_payload, read_stored_payload
from civicdesk.core.clock import now
from civicdesk.core.errors import DomainError
from civicdesk.core.memo import remembered_lookups
from civicdesk.core.savepoints import savepoint_covers
from civicdesk.core.transient import is_transient, retry_transient
from civicdesk.realtime.publish import publish, publishing_in_batches

logger = logging.getLogger(__name__)

# How long a claim holds without renewal: a dead worker's payloads wait at most this long.
LEASE = timedelta(seconds=30)
# Renew the lease when a third of it has gone by while a batch is still being worked on.
RENEW_AFTER = LEASE.total_seconds() / 3
# Backoff after a temporary fault: doubling from BACKOFF_FIRST, at most BACKOFF_MAX.
BACKOFF_FIRST = timedelta(seconds=0.5)
BACKOFF_MAX = timedelta(seconds=30)
# A payload put back this many times in a row (some minutes of backoff) is logged as an
# error: still retried, but a fault that lasts needs a person.
LOUD_AFTER_ATTEMPTS = 12
# Any fixed 64-bit number: the advisory lock that serialises the claim step on PostgreSQL.
CLAIM_LOCK_KEY = 0x43_44_49_4E_47_45_53_54  # "CDINGEST"

_STATUS_FIELDS = [
    "status",
    "error",
    "result_reference",
    "processed_at",
    "updated_at",
    "claimed_by",
    "lease_expires_at",
    "not_before",
]


def worker_id() -> str:
    """Who holds a claim: host, process and thread (threads of one process are workers too)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:120]


def handle_payload(payload: InboundPayload, message: InboundMessage | None) -> InboundOutcome:
    """The inbound handler's outcome for one payload (parsed now unless given). Inside the
    caller's transaction; raises whatever the handler raises, UnreadablePayload when the
    payload cannot be read. A payload that turns out to carry no message (receipts only) is
    done with no case (an empty outcome)."""
    if message is None:
        message = read_stored_payload(payload)
        if message is None:
            return InboundOutcome()
    outcome = registry.call_inbound_handler(
        message,
        payload_id=payload.pk,
        account_id=payload.account_id,
        reference=payload.reference,
    )
    if message.is_automated and not outcome.automated:
        outcome = dataclasses.replace(outcome, automated=True)
    return outcome


def failure_text(exc: BaseException) -> str:
    """What a permanent failure records on the payload: the reason first, then where. A
    reason quoting what was sent may hold a NUL; it is recorded without."""
    if isinstance(exc, UnreadablePayload):
        return storable_text(exc.message)  # as the intake records it: the reason alone
    detail = str(exc.message) if isinstance(exc, DomainError) else repr(exc)
    return storable_text(f"{detail}\n\n{traceback.format_exc(limit=8)}")


def backoff(attempts: int) -> timedelta:
    """The wait before try number `attempts + 1` after a temporary fault, with jitter."""
    doublings = min(max(0, attempts - 1), 16)
    base: timedelta = min(BACKOFF_MAX, BACKOFF_FIRST * float(1 << doublings))
    return base * (0.5 + random.random())  # noqa: S311 - jitter, not secrecy


def _claimable(moment: object) -> Q:
    """Waiting and due, or abandoned: a claim whose lease expired (or that never had one)."""
    return Q(status=PayloadStatus.RECEIVED) & (
        Q(not_before__isnull=True) | Q(not_before__lte=moment)
    ) | Q(status=PayloadStatus.PROCESSING) & (
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=moment)
    )


def _blocks_later(moment: object) -> Q:
    """A payload that is not claimable now holds its sender's later ones back: it waits out a
    backoff, another worker is processing it, or it is throttled (until the sweep or a person
    releases it: a later message must not reach the case before it)."""
    return (
        Q(status=PayloadStatus.RECEIVED, not_before__gt=moment)
        | Q(status=PayloadStatus.PROCESSING, lease_expires_at__gte=moment)
        | Q(status=PayloadStatus.THROTTLED)
    )


def _in_hand_past_lease(moment: object, among: set[str]) -> dict[str, int]:
    """PostgreSQL: the first payload per sender whose lease ran out while a batch still holds
    it (its row lock: the batch renews its lease inside its own transaction, where no other
    worker sees the renewal). Its sender's later payloads wait for it, as for any claim."""
    expired = (
        InboundPayload.objects.filter(status=PayloadStatus.PROCESSING, sender_identity__in=among)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=moment))
        .exclude(sender_identity="")
    )
    senders = dict(expired.values_list("id", "sender_identity"))
    if not senders:
        return {}
    free = set(
        expired.filter(pk__in=list(senders))
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("id", flat=True)
    )
    first: dict[str, int] = {}
    for pk in sorted(set(senders) - free):
        first.setdefault(senders[pk], pk)
    return first


def claim_waiting(*, limit: int, holder: str) -> list[int]:
    """Claim up to `limit` payloads for `holder`, oldest first, per-sender order kept; their
    ids in arrival order. One short transaction: the claimable payloads in id order (a range
    scan, page by page), then, for the senders on that page only, whether an earlier payload of
    theirs holds them back (another worker is on it, it waits out a backoff, it is throttled),
    then the claim. Every step costs what the batch costs, whatever the backlog.
    """
    moment = now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CLAIM_LOCK_KEY])
        ids: list[int] = []
        held: dict[str, int] = {}
        after = 0
        for _ in range(CLAIM_ROUNDS):
            rows = _candidates(moment, after=after, limit=limit)
            if not rows:
                break
            after = rows[-1][0]
            held.update(_held_back(moment, {s for _, s in rows if s and s not in held}))
            for pk, sender in rows:
                if sender and pk > held.get(sender, pk):
                    continue  # an earlier payload of this sender is not done: it waits
                ids.append(pk)
                if len(ids) == limit:
                    break
            if len(ids) == limit or len(rows) < limit:
                break
        if ids:
            InboundPayload.objects.filter(pk__in=ids).update(
                status=PayloadStatus.PROCESSING,
                claimed_by=holder,
                lease_expires_at=moment + LEASE,
                attempts=F("attempts") + 1,
                updated_at=moment,
            )
    return ids


# A claim looks at up to this many pages of `limit` waiting payloads for ones whose sender is
# not held back, so that a page of held-back senders does not stop the loop.
CLAIM_ROUNDS = 4


def _candidates(moment: object, *, after: int, limit: int) -> list[tuple[int, str]]:
    """The next `limit` claimable payloads after id `after`, oldest first, with their senders:
    a range scan of the waiting payloads in id order (locked, skipping rows another batch
    holds, on PostgreSQL)."""
    candidates = InboundPayload.objects.filter(_claimable(moment), id__gt=after).order_by("id")
    if connection.vendor == "postgresql":
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    return list(candidates.values_list("id", "sender_identity")[:limit])


def _held_back(moment: object, senders: set[str]) -> dict[str, int]:
    """For the given senders, the first payload that holds their later ones back (see
    `_blocks_later`; on PostgreSQL also one a batch still holds past its lease). Looked up by
    sender (indexed), so that its cost follows the batch, not the backlog: a query over all
    waiting payloads would read every index entry of the rows processed since the last vacuum."""
    if not senders:
        return {}
    held = dict(
        InboundPayload.objects.filter(_blocks_later(moment), sender_identity__in=senders)
        .values("sender_identity")
        .annotate(first=Min("id"))
        .values_list("sender_identity", "first")
    )
    if connection.vendor == "postgresql":
        for sender, first in _in_hand_past_lease(moment, senders).items():
            held[sender] = min(first, held.get(sender, first))
    return held


def process_waiting(limit: int = 50) -> int:
    """Claim up to `limit` waiting payloads and process them as one batch; how many were
    processed (successfully or not). 0: nothing was waiting (or all of it is held back).

    A temporary fault puts the batch back (received, retried after a short backoff) and is
    raised, so that the caller's loop backs off; everything else is recorded per payload.
    """
    holder = worker_id()
    ids = claim_waiting(limit=limit, holder=holder)
    if not ids:
        return 0
    try:
        try:
            return _process_claimed(ids, holder=holder)
        except Exception as exc:
            if is_transient(exc):
                raise
            # Not one payload's fault (those are recorded in their savepoints): left claimed,
            # the batch would be taken again after every lease, ahead of everything else.
            logger.exception("A batch of %d payloads failed; processed one by one", len(ids))
            _process_alone(ids, holder=holder)
            return len(ids)
    except Exception as exc:
        if not is_transient(exc):
            raise
        fault = exc
        logger.warning("Batch of %d payloads hit a temporary fault; retried: %s", len(ids), exc)
        tries = retry_transient(
            lambda: put_back(ids, holder=holder, reason=fault), what="putting a batch back"
        )
        if tries >= LOUD_AFTER_ATTEMPTS:
            # Retried still, and never failed; but a fault this lasting (a full disk, a server
            # down) needs a person, so it is said as an error.
            logger.error(
                "Payloads have met a temporary fault %d times in a row and wait to be retried; "
                "check the database: %r",
                tries,
                fault,
            )
        raise


def put_back(ids: list[int], *, holder: str, reason: BaseException) -> int:
    """Return claimed payloads to the waiting line after a temporary fault (never failed),
    each not to be tried again before its backoff has passed; the most tries any of them has
    had."""
    moment = now()
    attempts = dict(
        InboundPayload.objects.filter(
            pk__in=ids, claimed_by=holder, status=PayloadStatus.PROCESSING
        ).values_list("pk", "attempts")
    )
    backoffs = {pk: moment + backoff(tries) for pk, tries in attempts.items()}
    rows = [
        InboundPayload(
            pk=pk,
            status=PayloadStatus.RECEIVED,
            error=f"Temporary fault, will be retried: {reason!r}",
            claimed_by="",
            lease_expires_at=None,
            not_before=until,
            updated_at=moment,
        )
        for pk, until in backoffs.items()
    ]
    fields = ["status", "error", "claimed_by", "lease_expires_at", "not_before", "updated_at"]
    InboundPayload.objects.bulk_update(rows, fields)
    return max(attempts.values(), default=0)


class _Lease:
    """Renews the batch's lease when a third of it has passed, inside the batch's transaction."""

    def __init__(self, ids: list[int], holder: str) -> None:
        self.ids = ids
        self.holder = holder
        self.renewed = time.monotonic()

    def keep(self) -> None:
        if time.monotonic() - self.renewed < RENEW_AFTER:
            return
        InboundPayload.objects.filter(
            pk__in=self.ids, claimed_by=self.holder, status=PayloadStatus.PROCESSING
        ).update(lease_expires_at=now() + LEASE)
        self.renewed = time.monotonic()


def _process_claimed(ids: list[int], *, holder: str) -> int:
    failed: list[InboundPayload] = []
    with publishing_in_batches(), remembered_lookups(), transaction.atomic():
        # The row lock keeps a worker taking over an expired lease away until this commits;
        # rows no longer ours (taken over while this worker stalled) are left alone.
        payloads = list(
            InboundPayload.objects.select_for_update()
            .filter(pk__in=ids, claimed_by=holder, status=PayloadStatus.PROCESSING)
            .order_by("id")
        )
        lease = _Lease([p.pk for p in payloads], holder)
        handled = _process_together(payloads)
        for payload in payloads:
            if payload.pk in handled:
                continue
            lease.keep()
            _process_one(payload)
            if payload.status == PayloadStatus.FAILED:
                failed.append(payload)
        _record_outcomes(payloads)
        for payload in failed:
            publish("payload.failed", {"payload_id": payload.pk, "channel": payload.channel})
    return len(payloads)


def _process_alone(ids: list[int], *, holder: str) -> None:
    """Each claimed payload in a transaction of its own, its outcome saved by itself: one that
    still cannot be processed is recorded failed (replayable), and the others go on."""
    for pk in ids:
        try:
            with transaction.atomic():
                payload = (
                    InboundPayload.objects.select_for_update()
                    .filter(pk=pk, claimed_by=holder, status=PayloadStatus.PROCESSING)
                    .first()
                )
                if payload is None:
                    continue  # taken over meanwhile
                _process_one(payload)
                payload.save(update_fields=_STATUS_FIELDS)
        except Exception as exc:
            if is_transient(exc):
                raise
            logger.exception("Inbound payload %s failed", pk)
            mine = InboundPayload.objects.filter(pk=pk, claimed_by=holder)
            channel = mine.values_list("channel", flat=True).first() or ""
            mine.update(
                status=PayloadStatus.FAILED,
                error=failure_text(exc),
                claimed_by="",
                lease_expires_at=None,
                updated_at=now(),
            )
            publish("payload.failed", {"payload_id": pk, "channel": channel})
            continue
        if payload.status == PayloadStatus.FAILED:
            publish("payload.failed", {"payload_id": pk, "channel": payload.channel})


def _process_together(payloads: list[InboundPayload]) -> set[int]:
    """Hand the batch to the domain's batch handler, if there is one, in one savepoint: the
    ids of the payloads it handled (their outcome set on them). If it fails, nothing it wrote
    stands and every payload goes one by one (a temporary fault is raised: the batch goes back).
    """
    handler = registry.batch_handler()
    if handler is None:
        return set()
    items: list[registry.BatchItem] = []
    for payload in payloads:
        try:
            message = parse_stored_payload(payload)
        except Exception:  # noqa: S112 - recorded when processed one by one
            continue
        items.append(
            registry.BatchItem(
                payload_id=payload.pk,
                message=message,
                account_id=payload.account_id,
                reference=payload.reference,
            )
        )
    try:
        with transaction.atomic(), savepoint_covers():
            outcomes = handler(items)
    except Exception as exc:
        if is_transient(exc):
            raise
        logger.exception("The batch handler failed; the batch is processed one by one")
        return set()
    moment = now()
    for payload in payloads:
        outcome = outcomes.get(payload.pk)
        if outcome is None:
            continue
        payload.status = PayloadStatus.PROCESSED
        payload.error = ""
        payload.result_reference = outcome.case_reference
        payload.processed_at = moment
        payload.claimed_by = ""
        payload.lease_expires_at = None
        payload.not_before = None
        payload.updated_at = moment
    return set(outcomes)


def _record_outcomes(payloads: list[InboundPayload]) -> None:
    """The batch's statuses in as few UPDATEs as the outcomes allow: one for the processed
    payloads, one bulk update for the rest (failures)."""
    processed = [p for p in payloads if p.status == PayloadStatus.PROCESSED]
    for start in range(0, len(processed), _RECORD_CHUNK):
        _record_processed(processed[start : start + _RECORD_CHUNK], moment=now())
    others = [p for p in payloads if p.status != PayloadStatus.PROCESSED]
    if others:
        InboundPayload.objects.bulk_update(others, _STATUS_FIELDS)


# Rows per UPDATE of processed payloads: two parameters each, far below SQLite's limit.
_RECORD_CHUNK = 500


def _record_processed(processed: list[InboundPayload], *, moment: datetime) -> None:
    """One UPDATE: every payload processed, each with its case's reference.

    Raw SQL because each payload names its own reference (a contact acknowledged without one
    had it taken in this batch): the ORM's way, a CASE with one WHEN per row, cost about 0.2 ms
    of Python per contact (a tenth of the worker's whole path) to build; this costs nothing.
    Both databases accept a CTE of VALUES joined by UPDATE ... FROM (SQLite since 3.33).
    """
    table = connection.ops.quote_name(InboundPayload._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(moment)
    rows = ", ".join(["(CAST(%s AS BIGINT), %s)"] * len(processed))
    sql = (
        f"WITH outcome (id, ref) AS (VALUES {rows}) "  # noqa: S608 - our own table name
        f"UPDATE {table} SET status = %s, error = '', result_reference = outcome.ref, "
        "processed_at = %s, updated_at = %s, claimed_by = '', lease_expires_at = NULL, "
        f"not_before = NULL FROM outcome WHERE {table}.id = outcome.id"
    )
    params: list[Any] = []
    for payload in processed:
        params += [payload.pk, payload.result_reference]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, PayloadStatus.PROCESSED, at, at])


def _process_one(payload: InboundPayload) -> None:
    """One payload in its own savepoint; the outcome is set on `payload` (saved by the caller)."""
    moment = now()
    payload.claimed_by = ""
    payload.lease_expires_at = None
    payload.not_before = None
    payload.updated_at = moment
    try:
        with transaction.atomic(), savepoint_covers():
            outcome = handle_payload(payload, None)
    except Exception as exc:
        if is_transient(exc):
            raise  # the whole batch goes back; see process_waiting
        logger.exception("Inbound %s payload %s failed", payload.channel, payload.pk)
        payload.status = PayloadStatus.FAILED
        payload.error = failure_text(exc)
        return
    payload.status = PayloadStatus.PROCESSED
    payload.error = ""
    payload.result_reference = outcome.case_reference
    payload.processed_at = moment
