"""Messages on a case: the citizen's, staff replies to the citizen, and internal notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from civicdesk.cases.events import MessageReceived, NoteAdded, ReplySent
from civicdesk.cases.kernels.status import status_after_agent_reply, status_after_citizen_contact
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.selectors import reply_channel
from civicdesk.cases.services.attachments import NewAttachment, save_attachments
from civicdesk.cases.services.sla_clock import CLOCK_FIELDS, schedule_check
from civicdesk.cases.services.status import lock_case, record_status_change, set_status, sla_due
from civicdesk.cases.services.timeline import add_entry, announce, case_state
from civicdesk.channels import registry
from civicdesk.channels.contracts import OutgoingMessage
from civicdesk.channels.services import queue_delivery
from civicdesk.citizens.selectors import first_contact_value
from civicdesk.core.clock import now
from civicdesk.core.errors import DomainError

if TYPE_CHECKING:
    from datetime import datetime

    from civicdesk.accounts.models import User


@dataclass(frozen=True)
class ReplyOutcome:
    """What `reply_to_case` did: the reply's timeline entry and where it is going."""

    entry: CaseEvent
    channel: str
    channel_label: str
    status: str  # the case's status after the reply (a reply may move it)


@transaction.atomic
def record_citizen_message(
    *,
    case: Case,
    body: str,
    channel: str,
    author_label: str = "",
    attachments: Sequence[NewAttachment] = (),
    payload_id: int | None = None,
    at: datetime | None = None,
) -> CaseEvent:
    """A message from the citizen on a case; a resolved case reopens, a waiting one opens."""
    lock_case(case)
    when = at or now()
    update = ["last_activity_at", "updated_at"]
    case.last_activity_at = when
    previous = case.status
    new_status = status_after_citizen_contact(case.status_value)
    if new_status != case.status_value:
        update += set_status(case, new_status, at=when)
    event = MessageReceived(**case_state(case), channel=channel)
    entry = add_entry(
        case=case,
        event=event,
        at=when,
        body=body,
        channel=channel,
        author_label=author_label,
        payload_id=payload_id,
    )
    save_attachments(entry, attachments)
    if new_status.value != previous:
        record_status_change(case, previous=previous, at=when, automatic=True)
    case.save(update_fields=update)
    announce(event)
    return entry


def _recipient(channel: str, *, citizen_id: int) -> str:
    """Where the adapter of `channel` reaches the citizen; DomainError if it has no adapter."""
    try:
        adapter = registry.adapter_for(channel)
    except registry.UnknownChannel:
        # Historical origins (phone, counter, letter…) are recorded but have no adapter yet.
        raise DomainError(
            f"Replies by {channel} are not available yet; contact the citizen another way "
            "and record what was said as a note."
        ) from None
    for kind in adapter.recipient_kinds:
        value = first_contact_value(citizen_id=citizen_id, kind=kind)
        if value:
            return value
    return ""


@transaction.atomic
def reply_to_case(
    *, case: Case, author: User, body: str, attachments: Sequence[NewAttachment] = ()
) -> ReplyOutcome:
    """Answer the citizen in the channel they used; the first reply meets first response."""
    body = body.strip()
    if not body:
        raise DomainError("A reply needs some text.")
    lock_case(case)
    channel = reply_channel(case)
    recipient = _recipient(channel, citizen_id=case.citizen_id)
    at = now()
    delivery = queue_delivery(
        message=OutgoingMessage(
            channel=channel,
            recipient=recipient,
            body=body,
            subject=f"[{case.reference}] {case.subject}",
            thread_reference=case.reference,
        )
    )
    update = ["last_activity_at", "updated_at", "first_responded_at", "sla_due_at"]
    case.last_activity_at = at
    case.first_responded_at = case.first_responded_at or at
    case.sla_due_at = sla_due(case)
    previous = case.status
    new_status = status_after_agent_reply(case.status_value)
    if new_status != case.status_value:
        update += set_status(case, new_status, at=at)
    # The first response clock stopped: the next check is the resolution clock's.
    schedule_check(case, at=at)
    update += CLOCK_FIELDS
    event = ReplySent(**case_state(case), channel=channel)
    entry = add_entry(
        case=case,
        event=event,
        at=at,
        author=author,
        body=body,
        channel=channel,
        delivery=delivery,
    )
    save_attachments(entry, attachments)
    if new_status.value != previous:
        record_status_change(case, previous=previous, at=at, by=author)
    case.save(update_fields=update)
    announce(event)
    return ReplyOutcome(
        entry=entry,
        channel=channel,
        channel_label=dict(registry.channel_kinds()).get(channel, channel),
        status=case.status,
    )


@transaction.atomic
def add_internal_note(*, case: Case, author: User, body: str) -> CaseEvent:
    """A note for colleagues only: never shown to the citizen, never sent."""
    body = body.strip()
    if not body:
        raise DomainError("A note needs some text.")
    event = NoteAdded(**case_state(case))
    entry = add_entry(case=case, event=event, author=author, body=body)
    announce(event)
    return entry
