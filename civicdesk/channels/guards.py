"""Inbound guards: a message from the account's own identity, and per-sender rate limits.

Both decide only the status a payload is stored with; nothing is ever dropped. They read only
the sender, so that a payload can be admitted on its adapter's sketch (`ChannelAdapter.sketch`)
as well as on a full parse. Costs: one indexed look per inbound message at the sender's
payloads within the window, reading at most the limit's number of index entries (it asks
whether the limit-th exists, not how many there are).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from civicdesk.channels.contracts import ChannelAdapter, SenderContact
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.core.clock import now


def storable_text(text: str) -> str:
    """`text` with any NUL replaced: PostgreSQL cannot store one in a text column (nor compare
    one), and a write that fails for it would fail again on every try."""
    return text.replace("\x00", "\ufffd")


def sender_identity(sender: Sequence[SenderContact]) -> str:
    """The sender's first contact as "kind:value" ("" for an anonymous message): what the
    rate limit counts by (`sender`: an InboundMessage's or an InboundSketch's)."""
    if not sender:
        return ""
    first = sender[0]
    return storable_text(f"{first.kind}:{first.value}"[:300])


def rate_window() -> timedelta:
    return timedelta(seconds=settings.CIVICDESK_INBOUND_RATE_WINDOW_SECONDS)


def held_until() -> datetime:
    """When a payload throttled now may be released by the sweep."""
    return now() + rate_window()


def admission(
    sender: Sequence[SenderContact], *, channel: str, adapter: ChannelAdapter, config: Any
) -> tuple[str, str]:
    """The status (and reason) a message from `sender` is stored with: received (to be
    processed), ignored (our own message echoed back) or throttled (its sender is over the
    limit)."""
    own = {value.casefold() for value in adapter.own_identities(config)}
    if own and any(contact.value.casefold() in own for contact in sender):
        return (
            PayloadStatus.IGNORED,
            "Sent from the account's own identity (an echo of our own message); not processed.",
        )
    identity = sender_identity(sender)
    limit = settings.CIVICDESK_INBOUND_RATE_LIMIT
    if identity and adapter.rate_limited and over_limit(channel, identity, limit=limit):
        return (
            PayloadStatus.THROTTLED,
            f"Over the limit of {limit} messages from this sender in "
            f"{settings.CIVICDESK_INBOUND_RATE_WINDOW_SECONDS} s; held, and released "
            "when the window has passed.",
        )
    return PayloadStatus.RECEIVED, ""


def over_limit(channel: str, identity: str, *, limit: int) -> bool:
    """Whether `identity` sent `limit` payloads or more on `channel` within the window.

    Asks whether the limit-th of them exists (`LIMIT 1 OFFSET limit - 1` on the index
    `(channel, sender_identity, created_at)`), not how many there are: a COUNT reads every
    entry of the window, this at most `limit` of them, however many a flooding sender sent.
    The statement is written once (as `payload_store` writes its INSERT): it runs before every
    acknowledgement, and the ORM's compilation of it cost more than the query itself."""
    if limit <= 0:
        return True
    since = connection.ops.adapt_datetimefield_value(now() - rate_window())
    with connection.cursor() as cursor:
        cursor.execute(_limit_sql(limit - 1), [channel, identity, since])
        return cursor.fetchone() is not None


@functools.cache
def _limit_sql(offset: int) -> str:
    quote = connection.ops.quote_name
    meta = InboundPayload._meta
    column = {field.name: quote(field.column) for field in meta.concrete_fields}
    return (
        f"SELECT 1 FROM {quote(meta.db_table)} "  # noqa: S608 - our own names and an int
        f"WHERE {column['channel']} = %s AND {column['sender_identity']} = %s "
        f"AND {column['created_at']} >= %s LIMIT 1 OFFSET {int(offset)}"
    )
