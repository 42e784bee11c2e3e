"""A channel that receives but cannot send is never a reply route."""

from __future__ import annotations

import pytest

from civicdesk.channels.adapters.console import ConsoleAdapter
from civicdesk.channels.registry import override_adapters
from civicdesk.channels.selectors import channel_can_reply, reachable_routes


class ReceiveOnlyAdapter(ConsoleAdapter):
    kind = "receive_only"
    label = "Receives only"
    can_send = False


@pytest.mark.django_db
def test_a_channel_that_cannot_send_offers_no_route_and_cannot_reply() -> None:
    contacts = [("email", "ann@example.org")]
    with override_adapters(ReceiveOnlyAdapter):
        routes = reachable_routes(contacts=contacts, used_channels=["receive_only", "console"])
        assert [route.channel for route in routes] == ["console"]
        assert channel_can_reply("receive_only") is False
        assert channel_can_reply("console") is True
