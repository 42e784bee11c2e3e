"""The workspace socket, driven through the real ASGI application and the database outbox."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from civicdesk.cases.events import CaseOpened
from civicdesk.realtime.relay import relay
from civicdesk.workspace.tests.conftest import accept
from config.asgi import application
from tests.factories import build_riverton, portal_payload

ORIGIN = (b"origin", b"http://testserver")


async def _stop_relay() -> None:
    """The relay is one per process; each test starts it afresh on its own event loop."""
    await relay.stop()


async def _relay_watching() -> None:
    """Wait until the relay has noted the outbox's last row, so later events are all relayed."""
    for _ in range(100):
        if relay.watching:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the relay did not start")


@pytest.mark.django_db(transaction=True)
def test_an_anonymous_socket_is_refused_with_4401() -> None:
    async def scenario() -> tuple[bool, Any]:
        communicator = WebsocketCommunicator(application, "/ws/workspace/", headers=[ORIGIN])
        try:
            connected, code = await communicator.connect(timeout=3)
            return bool(connected), code
        finally:
            await _stop_relay()

    assert async_to_sync(scenario)() == (False, 4401)


@pytest.mark.django_db(transaction=True)
def test_a_signed_in_agent_hears_hello_then_the_new_case() -> None:
    riverton = build_riverton()
    client = Client()
    client.force_login(riverton.ann)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], str]:
        communicator = WebsocketCommunicator(
            application, "/ws/workspace/", headers=[ORIGIN, (b"cookie", cookie)]
        )
        try:
            connected, _ = await communicator.connect(timeout=3)
            assert connected
            hello = await communicator.receive_json_from(timeout=3)
            await _relay_watching()
            case = await database_sync_to_async(accept)("portal", portal_payload())
            created = await communicator.receive_json_from(timeout=3)
            await communicator.disconnect()
            return hello, created, case.reference
        finally:
            await _stop_relay()

    hello, created, reference = async_to_sync(scenario)()

    assert hello == {"kind": "hello", "data": {"user_id": riverton.ann.pk}}
    assert created == {
        "kind": "case.opened",
        "data": {
            "reference": reference,
            "status": "new",
            "queue_id": riverton.waste_queue.pk,
            "assignee_id": riverton.ann.pk,
            "priority": "normal",
            "channel": "portal",
            "service": "Missed bin collection",
        },
    }
    # What the workspace hears is the typed event, whole.
    assert CaseOpened.from_data(created["data"]).reference == reference
