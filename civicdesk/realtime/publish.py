"""Publishing live-update events. Only services call this, and events leave after commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction

from civicdesk.realtime.events import Event

WORKSPACE_GROUP = "workspace"


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
    transaction.on_commit(lambda: _dispatch(message, targets), robust=True)


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
