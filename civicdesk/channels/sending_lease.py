"""Sending is a lease: a worker that claims a delivery holds it until `claimed_until`, renews it
while the provider call runs, and gives it up when it records the result.

Why a lease and not a status alone: a worker killed in the middle of a send leaves the delivery
"sending" for ever. With a lease, the sweep (`channels.sweep`, every 15 s) takes over a delivery
whose lease has run out, so a delivery left by a dead worker is sent again within the lease
(CIVICDESK_DELIVERY_LEASE_SECONDS, 30 s) + the sweep interval: 45 s at most. A live worker
renews its lease every third of its length for as long as the provider call lasts, however long the
provider's time-out and retries make it (channels.http: up to 3 tries of
CIVICDESK_PROVIDER_TIMEOUT_SECONDS each), so a slow send is never taken over while its worker
lives.

Each claim carries a token. Only the holder of the current token may record a result; a worker
whose lease was taken over (it could not renew: the database was unreachable for longer than
the lease) records its try for the history but leaves the delivery to the new holder.

The at-least-once edge: a send that reached the provider before its worker was killed (or lost
its lease) is sent again by the worker that takes over. Both sends carry the same idempotency
key (`delivery.idempotency_key`), so a provider that honours the key (the contract's
`OutgoingMessage.idempotency_key`; Acme's Idempotency-Key header) delivers the message once and
answers the second call with the first call's message id; a provider without one may deliver
it twice. Nothing can do better without the provider: the kill can fall between the provider
accepting the message and our recording that it did.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q

from civicdesk.channels.models import DeliveryStatus, OutboundDelivery
from civicdesk.core.clock import now

logger = logging.getLogger(__name__)


def sending_lease() -> timedelta:
    """CIVICDESK_DELIVERY_LEASE_SECONDS (30 s by default)."""
    return timedelta(seconds=settings.CIVICDESK_DELIVERY_LEASE_SECONDS)


def renew_every() -> timedelta:
    return sending_lease() / 3


def new_claim_token() -> str:
    return uuid.uuid4().hex


def lease_until(at: datetime) -> datetime:
    return at + sending_lease()


def abandoned_sending(*, at: datetime) -> Q:
    """The one "left by a dead worker" predicate: sending, and its lease has run out (rows
    claimed before leases existed count from their last change)."""
    return Q(status=DeliveryStatus.SENDING) & (
        Q(claimed_until__lt=at) | Q(claimed_until__isnull=True, updated_at__lt=at - sending_lease())
    )


def unclaimed_pending(*, at: datetime) -> Q:
    """Pending for longer than a lease: its task was lost (the queue was down at commit, or a
    worker died holding the task before it claimed the delivery). Enqueuing it again is
    harmless: sending claims the delivery first."""
    return Q(status=DeliveryStatus.PENDING, created_at__lt=at - sending_lease())


def renew(*, delivery_id: int, token: str) -> bool:
    """Extend our lease by the lease's length from now; False when it is no longer ours."""
    renewed = OutboundDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.SENDING, claim_token=token
    ).update(claimed_until=lease_until(now()))
    return renewed == 1


@contextmanager
def kept_while_sending(*, delivery_id: int, token: str) -> Iterator[None]:
    """Renew the lease every third of its length from a thread of its own while the block runs.

    The thread touches the database only when a renewal is due, so a send that takes less
    than that costs nothing. A renewal that fails (a locked or unreachable database)
    is logged and tried again at the next turn: the lease still bounds how long a dead worker
    blocks the delivery.
    """
    stop = threading.Event()
    every = renew_every().total_seconds()

    def keep() -> None:
        try:
            while not stop.wait(every):
                try:
                    if not renew(delivery_id=delivery_id, token=token):
                        logger.warning(
                            "Delivery #%s: the sending lease was taken over during the send",
                            delivery_id,
                        )
                        return
                except Exception:
                    logger.warning(
                        "Delivery #%s: the sending lease could not be renewed; trying again",
                        delivery_id,
                        exc_info=True,
                    )
                    connection.close()
        finally:
            connection.close()  # this thread's own connection, if it opened one

    keeper = threading.Thread(target=keep, name=f"lease delivery {delivery_id}", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join()
