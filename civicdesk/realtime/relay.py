"""Relays outbox events from the database to this process's channel layer.

One relay runs per socket process, started by the first WebSocket connection. It polls for rows
newer than the last one it saw, so every process that writes events is heard, whatever it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from civicdesk.core.clock import now

logger = logging.getLogger(__name__)
KEEP_EVENTS = timedelta(minutes=10)


class EventRelay:
    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._last_id = 0
        self.watching = False  # True once the relay knows where the outbox ends

    def ensure_running(self) -> None:
        """Start relaying in the running event loop, unless a live relay runs there already."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.watching = False

    async def _run(self) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        # Start after what exists: a socket opened now hears what happens from now on.
        self._last_id = await database_sync_to_async(_latest_id)()
        self.watching = True
        polls = 0
        while True:
            try:
                events = await database_sync_to_async(_events_after)(self._last_id)
                for event_id, kind, groups, data in events:
                    self._last_id = event_id
                    for group in groups:
                        await layer.group_send(
                            group,
                            {"type": "realtime.event", "event": {"kind": kind, "data": data}},
                        )
                polls += 1
                if polls % 240 == 0:
                    await database_sync_to_async(_prune)()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Live-update relay failed; retrying")
            await asyncio.sleep(settings.CIVICDESK_REALTIME_POLL_SECONDS)


def _latest_id() -> int:
    from civicdesk.realtime.models import RealtimeEvent

    latest = RealtimeEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return latest or 0


def _events_after(last_id: int) -> list[tuple[int, str, list[str], dict[str, object]]]:
    from civicdesk.realtime.models import RealtimeEvent

    rows = RealtimeEvent.objects.filter(id__gt=last_id).order_by("id")[:500]
    return [(row.pk, row.kind, list(row.groups), dict(row.data)) for row in rows]


def _prune() -> None:
    from civicdesk.realtime.models import RealtimeEvent

    RealtimeEvent.objects.filter(created_at__lt=now() - KEEP_EVENTS).delete()


relay = EventRelay()
