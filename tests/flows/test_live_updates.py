"""Live updates through a real WebSocket client against a live server on loopback."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from civicdesk.channels.services import accept_inbound
from tests.factories import PASSWORD, build_riverton, portal_payload

pytestmark = [pytest.mark.django_db(transaction=True)]


def _session_cookie(email: str) -> str:
    client = Client()
    assert client.login(email=email, password=PASSWORD)
    return f"sessionid={client.cookies['sessionid'].value}"


async def _next_event(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
        if event["kind"] == kind:
            return event


def test_an_agent_hears_of_a_new_case_within_a_second(live_asgi: str) -> None:
    riverton = build_riverton()
    cookie = _session_cookie("ann@riverton.example")
    ws_url = live_asgi.replace("http://", "ws://") + "/ws/workspace/"

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], float]:
        async with connect(
            ws_url, additional_headers={"Cookie": cookie, "Origin": live_asgi}
        ) as ws:
            hello = await _next_event(ws, "hello")
            loop = asyncio.get_running_loop()
            started = loop.time()
            acceptance = await sync_to_async(accept_inbound)(
                channel="portal", raw=portal_payload(), process_now=True
            )
            created = await _next_event(ws, "case.opened")
            assert created["data"]["reference"] == acceptance.payload.result_reference
            return hello, created, loop.time() - started

    hello, created, elapsed = asyncio.run(scenario())
    assert hello["data"] == {"user_id": riverton.ann.pk}
    assert created["data"]["assignee_id"] == riverton.ann.pk
    assert created["data"]["queue_id"] == riverton.waste_queue.pk
    assert created["data"]["status"] == "new"
    assert created["data"]["channel"] == "portal"
    assert elapsed < 2.0


def test_anonymous_sockets_are_refused(live_asgi: str) -> None:
    """The origin is allowed, so the refusal is the consumer's: closed before the handshake
    completes, which the server answers with HTTP 403."""
    ws_url = live_asgi.replace("http://", "ws://") + "/ws/workspace/"

    async def scenario() -> None:
        async with connect(ws_url, additional_headers={"Origin": live_asgi}) as ws:
            await ws.recv()

    with pytest.raises(InvalidStatus) as raised:
        asyncio.run(scenario())
    assert raised.value.response.status_code == 403


def test_sockets_from_another_origin_are_refused(live_asgi: str) -> None:
    build_riverton()
    cookie = _session_cookie("ann@riverton.example")
    ws_url = live_asgi.replace("http://", "ws://") + "/ws/workspace/"

    async def scenario() -> None:
        async with connect(
            ws_url, additional_headers={"Cookie": cookie, "Origin": "http://evil.example"}
        ):
            pass

    with pytest.raises(InvalidStatus) as raised:
        asyncio.run(scenario())
    assert raised.value.response.status_code == 403
