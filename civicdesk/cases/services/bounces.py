"""Addresses messages cannot reach (a hard bounce), and the proof that they work again.

The channels framework reports an address it was told is gone (`registry.UnreachableNotice`);
the citizen's contact point is marked, so that replies choose the citizen's next channel
(`cases.selectors.reply_routes` skips marked points). A message that comes from the address
over a channel that sends to such addresses (an email from it) proves it works: the mark goes;
so does an agent who checked the address (`restore_contact_point`, on the case's timeline).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction

from civicdesk.cases.events import ContactPointRestored
from civicdesk.cases.services.timeline import add_entry, announce, case_state
from civicdesk.channels.selectors import proves_sender
from civicdesk.citizens.services import (
    ContactInput,
    clear_contact_point_undeliverable,
    clear_undeliverable,
    mark_contact_point_undeliverable,
)
from civicdesk.core.errors import DomainError

if TYPE_CHECKING:
    from civicdesk.accounts.models import User
    from civicdesk.cases.models import Case
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


@transaction.atomic
def restore_contact_point(*, case: Case, contact_point_id: int, by: User) -> None:
    """An agent checked one of the case's citizen's addresses marked undeliverable: replies may
    take it again, and the case's timeline says who decided. Refused (DomainError, nothing
    changed) for a point that is not the citizen's or not marked."""
    restored = clear_contact_point_undeliverable(
        citizen=case.citizen, contact_point_id=contact_point_id
    )
    if restored is None:
        raise DomainError("That address is not marked undeliverable for this citizen.")
    event = ContactPointRestored(**case_state(case), contact_kind=restored[0], value=restored[1])
    add_entry(case=case, event=event, author=by)
    announce(event)
