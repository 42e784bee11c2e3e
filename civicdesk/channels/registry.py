"""The channel kinds this installation knows, and who handles what they receive.

Adding a channel: write `adapters/<kind>/`, then add one line to `_ADAPTERS` below.
"""

from __future__ import annotations

from collections.abc import Callable

from civicdesk.channels.adapters.api.adapter import ApiAdapter
from civicdesk.channels.adapters.console.adapter import ConsoleAdapter
from civicdesk.channels.adapters.portal.adapter import PortalAdapter
from civicdesk.channels.contracts import ChannelAdapter, InboundMessage

_ADAPTERS: dict[str, type[ChannelAdapter]] = {
    PortalAdapter.kind: PortalAdapter,
    ApiAdapter.kind: ApiAdapter,
    ConsoleAdapter.kind: ConsoleAdapter,
}

# The inbound handler turns a message (and the id of the payload it came in) into case work
# and returns what it produced (a case reference). It is set by the cases app at start-up so
# that this framework never imports it.
InboundHandler = Callable[[InboundMessage, int], str]
_inbound_handler: InboundHandler | None = None


class UnknownChannel(LookupError):
    pass


def adapter_for(kind: str) -> ChannelAdapter:
    try:
        return _ADAPTERS[kind]()
    except KeyError:
        raise UnknownChannel(f"No channel adapter for {kind!r}") from None


def channel_kinds() -> list[tuple[str, str]]:
    return [(kind, adapter.label) for kind, adapter in _ADAPTERS.items()]


def set_inbound_handler(handler: InboundHandler) -> None:
    global _inbound_handler  # noqa: PLW0603 - one process-wide hook, set once at start-up
    _inbound_handler = handler


def inbound_handler() -> InboundHandler:
    if _inbound_handler is None:
        raise RuntimeError("No inbound handler registered: is the cases app installed?")
    return _inbound_handler
