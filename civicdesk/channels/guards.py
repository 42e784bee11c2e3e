"""Inbound guards: a message from the account's own identity, and per-sender rate limits.

Both decide only the status a payload is stored with; nothing is ever dropped. Costs: one
indexed count per inbound message (payloads from the same sender within the window).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from civicdesk.channels.contracts import ChannelAdapter, InboundMessage
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.core.clock import now


def storable_text(text: str) -> str:
    """`text` with any NUL replaced: PostgreSQL cannot store one in a text column (nor compare
    one), and a write that fails for it would fail again on every try."""
    return text.replace("\x00", "\ufffd")


def sender_identity(message: InboundMessage) -> str:
    """The sender's first contact as "kind:value" ("" for an anonymous message): what the
    rate limit counts by."""
    if not message.sender:
        return ""
    first = message.sender[0]
    return storable_text(f"{first.kind}:{first.value}"[:300])


def rate_window() -> timedelta:
    return timedelta(seconds=settings.CIVICDESK_INBOUND_RATE_WINDOW_SECONDS)


def held_until() -> datetime:
    """When a payload throttled now may be released by the sweep."""
    return now() + rate_window()


def admission(message: InboundMessage, *, adapter: ChannelAdapter, config: Any) -> tuple[str, str]:
    """The status (and reason) a parsed message is stored with: received (to be processed),
    ignored (our own message echoed back) or throttled (its sender is over the limit)."""
    own = {value.casefold() for value in adapter.own_identities(config)}
    if own and any(contact.value.casefold() in own for contact in message.sender):
        return (
            PayloadStatus.IGNORED,
            "Sent from the account's own identity (an echo of our own message); not processed.",
        )
    identity = sender_identity(message)
    if identity and adapter.rate_limited:
        recent = InboundPayload.objects.filter(
            channel=message.channel,
            sender_identity=identity,
            created_at__gte=now() - rate_window(),
        ).count()
        limit = settings.CIVICDESK_INBOUND_RATE_LIMIT
        if recent >= limit:
            return (
                PayloadStatus.THROTTLED,
                f"Over the limit of {limit} messages from this sender in "
                f"{settings.CIVICDESK_INBOUND_RATE_WINDOW_SECONDS} s; held, and released "
                "when the window has passed.",
            )
    return PayloadStatus.RECEIVED, ""
