"""Pages on the web port may open their socket on the socket port of the same host, only there.

Channels' origin check compares the page's host name with ALLOWED_HOSTS, whatever the port, so
a page from :8000 reaches the consumer on :8001; a page from another site is turned away before
the consumer sees it. (The consumer then closes an unauthenticated socket with 4401.)
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from civicdesk.realtime.consumers import UNAUTHORISED


async def _connect(origin: str) -> tuple[bool, int | None]:
    import config.asgi

    communicator = WebsocketCommunicator(
        config.asgi.application,
        "/ws/workspace/",
        headers=[(b"origin", origin.encode()), (b"host", b"127.0.0.1:8001")],
    )
    connected, code = await communicator.connect(timeout=5)
    await communicator.disconnect()
    return bool(connected), code


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("origin", "reaches_the_consumer"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://evil.example:8000", False),
        ("http://127.0.0.1.evil.example", False),
    ],
)
def test_the_page_origin_on_another_port_reaches_the_socket(
    origin: str, reaches_the_consumer: bool
) -> None:
    connected, code = async_to_sync(_connect)(origin)
    assert not connected  # nobody is signed in
    assert (code == UNAUTHORISED) is reaches_the_consumer
