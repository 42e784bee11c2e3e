import asyncio
import os
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers, get_channel_layer
from django.db import transaction

from civicdesk.realtime.models import RealtimeEvent
from civicdesk.realtime.publish import publish
from civicdesk.realtime.relay import EventRelay


@pytest.mark.django_db
def test_publish_writes_to_the_outbox_after_commit(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        publish("case.created", {"reference": "RIV-2026-000001"}, groups=["workspace", "user-3"])
        assert RealtimeEvent.objects.count() == 0
    event = RealtimeEvent.objects.get()
    assert (event.kind, event.groups, event.data) == (
        "case.created",
        ["workspace", "user-3"],
        {"reference": "RIV-2026-000001"},
    )


@pytest.mark.django_db(transaction=True)
def test_the_relay_delivers_outbox_events_to_the_socket_groups(settings: Any) -> None:
    settings.CIVICDESK_REALTIME_POLL_SECONDS = 0.05
    RealtimeEvent.objects.create(kind="old.event", groups=["workspace"], data={})

    async def scenario() -> dict[str, Any]:
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        await layer.group_add("workspace", channel)
        relay = EventRelay()
        relay.ensure_running()
        await asyncio.sleep(0.2)  # the relay starts after existing events

        def write() -> None:
            with transaction.atomic():
                publish("case.created", {"reference": "RIV-2026-000007"})

        await sync_to_async(write)()
        try:
            return await asyncio.wait_for(layer.receive(channel), timeout=5)
        finally:
            await relay.stop()

    message = async_to_sync(scenario)()
    assert message == {
        "type": "realtime.event",
        "event": {"kind": "case.created", "data": {"reference": "RIV-2026-000007"}},
    }


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_redis_layer_carries_events_between_processes(settings: Any) -> None:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("REDIS_URL is not set (CI sets it)")
    settings.REALTIME_BACKEND = "redis"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": "civicdesk-test"},
        }
    }
    channel_layers.backends.clear()
    try:

        async def listen() -> tuple[Any, str]:
            layer = get_channel_layer()
            assert layer is not None
            channel = await layer.new_channel()
            await layer.group_add("workspace", channel)
            return layer, channel

        layer, channel = async_to_sync(listen)()
        with transaction.atomic():
            publish("case.assigned", {"reference": "RIV-2026-000009"})

        async def receive() -> dict[str, Any]:
            return await asyncio.wait_for(layer.receive(channel), timeout=5)

        message = async_to_sync(receive)()
        assert message["event"] == {
            "kind": "case.assigned",
            "data": {"reference": "RIV-2026-000009"},
        }
        assert RealtimeEvent.objects.count() == 0  # straight to Redis, no outbox
        async_to_sync(layer.flush)()
    finally:
        channel_layers.backends.clear()


@pytest.mark.django_db(transaction=True)
def test_an_event_committed_out_of_id_order_is_still_relayed_once(settings: Any) -> None:
    """PostgreSQL may commit a lower id after a higher one; the relay must not skip it."""
    settings.CIVICDESK_REALTIME_POLL_SECONDS = 0.05

    async def scenario() -> list[str]:
        layer = get_channel_layer()
        assert layer is not None
        channel = await layer.new_channel()
        await layer.group_add("workspace", channel)
        relay = EventRelay()
        relay.ensure_running()
        while not relay.watching:
            await asyncio.sleep(0.01)

        def write(kind: str, event_id: int) -> None:
            RealtimeEvent.objects.create(id=event_id, kind=kind, groups=["workspace"], data={})

        await sync_to_async(write)("later.id", 500)
        first = await asyncio.wait_for(layer.receive(channel), timeout=5)
        await sync_to_async(write)("earlier.id", 400)  # commits after 500 was relayed
        second = await asyncio.wait_for(layer.receive(channel), timeout=5)
        await asyncio.sleep(0.3)  # several more polls: nothing is sent twice
        try:
            await asyncio.wait_for(layer.receive(channel), timeout=0.2)
        except TimeoutError:
            pass
        else:
            raise AssertionError("an event was relayed twice")
        finally:
            await relay.stop()
        return [first["event"]["kind"], second["event"]["kind"]]

    assert async_to_sync(scenario)() == ["later.id", "earlier.id"]
