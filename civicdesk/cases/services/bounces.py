"""Addresses messages cannot reach (a hard bounce), and the proof that they work again.

The channels framework reports an address it was told is gone (`registry.UnreachableNotice`);
the citizen's contact point is marked, so that replies choose the citizen's next channel
(`cases.selectors.reply_routes` skips marked points). A message that comes from the address
over a channel that sends to such addresses (an email from it) proves it works: the mark goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from civicdesk.channels.selectors import proves_sender
from civicdesk.citizens.services import (
    ContactInput,
    clear_undeliverable,
    mark_contact_point_undeliverable,
)

if TYPE_CHECKING:
    from civicdesk.channels.contracts import InboundMessage
    from civicdesk.channels.registry import UnreachableNotice


def record_unreachable(notice: UnreachableNotice) -> None:
    """The unreachable handler (`registry.set_unreachable_handler`): mark the contact point.
    Called inside the transaction that records the receipt. One UPDATE."""
    mark_contact_point_undeliverable(
        kind=notice.recipient_kind, value=notice.recipient, reason=notice.reason, at=notice.at
    )


def confirm_senders(messages: Iterable[InboundMessage]) -> int:
    """Clear the marks on the points these messages came from, where their channel proves the
    sender (it delivers to such addresses: the email channel for an email address). One UPDATE
    for all of them (none when no sender is proven); returns how many marks went."""
    proven = [
        ContactInput(kind=contact.kind, value=contact.value)
        for message in messages
        for contact in message.sender
        if proves_sender(message.channel, contact.kind)
    ]
    return clear_undeliverable(contacts=proven) if proven else 0
