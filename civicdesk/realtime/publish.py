"""Publishing live-update events. Only services call this, and events leave after commit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction

WORKSPACE_GROUP = "workspace"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def publish(
    kind: str, data: Mapping[str, Any], *, groups: Sequence[str] = (WORKSPACE_GROUP,)
) -> None:
    """Send `kind` with `data` to the groups once the current transaction commits.

    A rolled-back change publishes nothing. `data` must be JSON-serialisable.
    """
    event = {"kind": kind, "data": dict(data)}
    targets = list(groups)
    # Robust: a live update that cannot be sent is logged, never an error for the change
    # that committed (the agent's reply is saved whatever happens to its notification).
    transaction.on_commit(lambda: _dispatch(event, targets), robust=True)


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
