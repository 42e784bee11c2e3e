"""Publishing live-update events. Only services call this, and events leave after commit."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction

from civicdesk.realtime.events import Event

WORKSPACE_GROUP = "workspace"

logger = logging.getLogger(__name__)

# Inside `publishing_in_batches()`: events whose transaction committed, waiting to leave together.
_batch: ContextVar[list[tuple[dict[str, Any], list[str]]] | None] = ContextVar(
    "civicdesk_publish_batch", default=None
)


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def publish(
    event: Event | str,
    data: Mapping[str, Any] | None = None,
    *,
    groups: Sequence[str] = (WORKSPACE_GROUP,),
) -> None:
    """Send `event` to the groups once the current transaction commits.

    A rolled-back change publishes nothing. On the wire every event is
    ``{"kind": event.kind, "data": event.to_data()}``.

    Passing a kind string and a data mapping is the older, untyped form, kept only until the
    remaining callers declare their events; `data` must then be JSON-serialisable.
    """
    if isinstance(event, Event):
        if data is not None:
            raise TypeError("A typed event carries its own data")
        message = {"kind": event.kind, "data": event.to_data()}
    else:
        message = {"kind": event, "data": dict(data or {})}
    targets = list(groups)
    # Robust: a live update that cannot be sent is logged, never an error for the change
    # that committed (the agent's reply is saved whatever happens to its notification).
    transaction.on_commit(lambda: _send(message, targets), robust=True)


@contextmanager
def publishing_in_batches() -> Iterator[None]:
    """Hold events that committed inside the block and send them together when it ends: one
    outbox write (database backend) for a worker's whole batch instead of one per event.

    Events of a rolled-back transaction or savepoint were never committed, so never held.
    Sending stays robust: a failure is logged, never raised.
    """
    if _batch.get() is not None:
        yield
        return
    held: list[tuple[dict[str, Any], list[str]]] = []
    token = _batch.set(held)
    try:
        yield
    finally:
        _batch.reset(token)
        if held:
            try:
                _dispatch_many(held)
            except Exception:
                logger.exception("Live updates of a batch could not be sent")


def _send(message: dict[str, Any], groups: list[str]) -> None:
    held = _batch.get()
    if held is None:
        _dispatch(message, groups)
    else:
        held.append((message, groups))


def _dispatch_many(events: list[tuple[dict[str, Any], list[str]]]) -> None:
    if settings.REALTIME_BACKEND == "database":
        from civicdesk.realtime.models import RealtimeEvent

        RealtimeEvent.objects.bulk_create(
            RealtimeEvent(kind=event["kind"], data=event["data"], groups=groups)
            for event, groups in events
        )
        return
    for event, groups in events:
        _dispatch(event, groups)


def _dispatch(event: dict[str, Any], groups: list[str]) -> None:
    if settings.REALTIME_BACKEND == "database":
        from civicdesk.realtime.models import RealtimeEvent

        RealtimeEvent.objects.create(kind=event["kind"], data=event["data"], groups=groups)
        return
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        async_to_sync(layer.group_send)(group, {"type": "realtime.event", "event": event})
