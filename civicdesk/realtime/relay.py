"""Relays outbox events from the database to this process's channel layer.

One relay runs per socket process, started by the first WebSocket connection. It polls the
outbox, so every process that writes events is heard, whatever it is. Ids are not a reliable
order: on PostgreSQL a transaction holding a lower id can commit after a higher one. So each
poll reads a recent window, not just "after the last id", and the relay remembers which events
it has sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from civicdesk.core.clock import now

logger = logging.getLogger(__name__)
KEEP_EVENTS = timedelta(minutes=10)
# Events are written in a short transaction of their own right after the change commits, so
# one that appears later than this after its creation time is not expected.
LATE_COMMIT_WINDOW = timedelta(seconds=30)


class EventRelay:
    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._since = now()
        self._sent: dict[int, datetime] = {}  # event id → created_at, within the window
        self.watching = False  # True once the relay knows where the outbox ends

    def ensure_running(self) -> None:
        """Start relaying in the running event loop, unless a live relay runs there already."""
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            # What happens from this moment on is relayed, even what is written before the
            # relay's first query: the socket that started it is about to be accepted.
            self._since = now()
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
        # Events from before the first socket arrived are not news to anyone.
        self._sent = dict.fromkeys(await database_sync_to_async(_ids_before)(self._since), now())
        self.watching = True
        polls = 0
        while True:
            try:
                events = await database_sync_to_async(_events_since)(
                    now() - LATE_COMMIT_WINDOW, frozenset(self._sent)
                )
                for event_id, created_at, kind, groups, data in events:
                    if event_id in self._sent:
                        continue
                    self._sent[event_id] = created_at
                    for group in groups:
                        await layer.group_send(
                            group,
                            {"type": "realtime.event", "event": {"kind": kind, "data": data}},
                        )
                horizon = now() - 2 * LATE_COMMIT_WINDOW
                self._sent = {key: at for key, at in self._sent.items() if at >= horizon}
                polls += 1
                if polls % 240 == 0:
                    await database_sync_to_async(_prune)()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("Live-update relay failed; retrying")
            await asyncio.sleep(settings.CIVICDESK_REALTIME_POLL_SECONDS)


def _ids_before(moment: datetime) -> list[int]:
    from civicdesk.realtime.models import RealtimeEvent

    window = RealtimeEvent.objects.filter(
        created_at__gte=moment - LATE_COMMIT_WINDOW, created_at__lt=moment
    )
    return list(window.values_list("id", flat=True))


def _events_since(
    since: datetime, sent: frozenset[int]
) -> list[tuple[int, datetime, str, list[str], dict[str, object]]]:
    """Events of the window not sent yet: ids first, whole rows only for the new ones."""
    from civicdesk.realtime.models import RealtimeEvent

    window = RealtimeEvent.objects.filter(created_at__gte=since).values_list("id", flat=True)
    # A one-machine installation writes far fewer than this many events in the window.
    new_ids = [event_id for event_id in window[:5000] if event_id not in sent]
    if not new_ids:
        return []
    rows = RealtimeEvent.objects.filter(id__in=new_ids).order_by("created_at", "id")
    return [(row.pk, row.created_at, row.kind, list(row.groups), dict(row.data)) for row in rows]


def _prune() -> None:
    from civicdesk.realtime.models import RealtimeEvent

    RealtimeEvent.objects.filter(created_at__lt=now() - KEEP_EVENTS).delete()


relay = EventRelay()
