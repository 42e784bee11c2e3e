"""Messages on a case: the citizen's, staff replies to the citizen, and internal notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from civicdesk.cases.events import MessageReceived, NoteAdded, ReplySent
from civicdesk.cases.kernels.status import status_after_agent_reply, status_after_citizen_contact
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.selectors import last_inbound_at, reply_routes, unreachable_notice
from civicdesk.cases.services.attachments import NewAttachment, save_attachments
from civicdesk.cases.services.delivery import send_reply
from civicdesk.cases.services.notifications import notify_reply_waiting
from civicdesk.cases.services.sla_clock import CLOCK_FIELDS, schedule_check
from civicdesk.cases.services.status import lock_case, record_status_change, set_status, sla_due
from civicdesk.cases.services.timeline import add_entry, announce, case_state
from civicdesk.channels.selectors import ReplyRoute, channel_label
from civicdesk.core.clock import now
from civicdesk.core.errors import DomainError
from civicdesk.core.savepoints import atomic_within_savepoint

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


@atomic_within_savepoint
def record_citizen_message(
    *,
    case: Case,
    body: str,
    channel: str,
    author_label: str = "",
    attachments: Sequence[NewAttachment] = (),
    payload_id: int | None = None,
    at: datetime | None = None,
    account_id: int | None = None,
    identity: str = "",
    lock: bool = True,
    quoted: str = "",
    notes: Sequence[str] = (),
    body_html: str = "",
) -> CaseEvent:
    """A message from the citizen on a case; a resolved case reopens, a waiting one opens.

    `quoted` and `notes`: what the channel folded away from `body` and what it left out
    (see `MessageReceived`); kept on the entry for staff. `body_html`: the message as the
    channel's sanitised HTML when it came only as HTML (`body` is then its text); kept on the
    entry and sanitised again whenever it is shown.

    The account it came to and the citizen's `identity` on the channel become the case's:
    replies go back the way the citizen last wrote. `lock=False`: the caller created the case
    in this transaction, so nobody else can see it, and it need not be re-read under a lock.
    """
    if lock:
        lock_case(case)
    when = at or now()
    update = ["last_activity_at", "updated_at"]
    unchanged = case.last_activity_at == when
    case.last_activity_at = when
    if account_id is not None or identity:
        unchanged = unchanged and (case.channel_account_id, case.channel_identity) == (
            account_id,
            identity,
        )
        case.channel_account_id = account_id
        case.channel_identity = identity
        update += ["channel_account", "channel_identity"]
    previous = case.status
    new_status = status_after_citizen_contact(case.status_value)
    if new_status != case.status_value:
        update += set_status(case, new_status, at=when)
    event = MessageReceived(
        **case_state(case),
        channel=channel,
        account_id=account_id,
        identity=identity,
        quoted=quoted,
        notes=tuple(notes),
    )
    entry = add_entry(
        case=case,
        event=event,
        at=when,
        body=body,
        channel=channel,
        author_label=author_label,
        payload_id=payload_id,
        body_html=body_html,
    )
    save_attachments(entry, attachments)
    if new_status.value != previous:
        record_status_change(case, previous=previous, at=when, automatic=True)
    if lock or not unchanged or new_status.value != previous:
        case.save(update_fields=update)
    # else: a case opened for this message in this transaction already stands so.
    announce(event)
    return entry


class Unreachable(DomainError):
    """No channel can carry a reply to this citizen; the message says what to do instead."""

    code = "unreachable"


def choose_route(
    case: Case, *, channel: str | None = None, account: int | None = None
) -> tuple[ReplyRoute, list[ReplyRoute]]:
    """The route a reply on `case` takes (the agent's choice, else the case's own) and the
    other reachable channels, best first, as its fallbacks. Unreachable when there is none."""
    routes = reply_routes(case)
    if not routes:
        raise Unreachable(unreachable_notice(case))
    chosen = routes[0]
    if channel or account is not None:
        matching = [
            r
            for r in routes
            if (not channel or r.channel == channel)
            and (account is None or r.account_id == account)
        ]
        if not matching:
            raise DomainError(
                f"Replies cannot reach this citizen by {channel_label(channel or '')}"
                + (f" from account #{account}" if account is not None else "")
                + "; choose one of the channels offered."
            )
        chosen = matching[0]
    # The fallback chain moves to other channels: one route each, in order.
    fallbacks: list[ReplyRoute] = []
    for route in routes:
        if route.channel != chosen.channel and all(f.channel != route.channel for f in fallbacks):
            fallbacks.append(route)
    return chosen, fallbacks


@transaction.atomic
def reply_to_case(
    *,
    case: Case,
    author: User,
    body: str,
    attachments: Sequence[NewAttachment] = (),
    channel: str | None = None,
    account: int | None = None,
) -> ReplyOutcome:
    """Answer the citizen: by the channel, account and address they last used, unless the agent
    chooses another reachable `channel` (and `account`, a ChannelAccount id). The other
    reachable routes go to the framework as fallbacks. The first reply meets first response.

    Refused (Unreachable, nothing written) when no channel can reach the citizen.
    """
    body = body.strip()
    if not body:
        raise DomainError("A reply needs some text.")
    lock_case(case)
    route, others = choose_route(case, channel=channel, account=account)
    at = now()
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
    event = ReplySent(
        **case_state(case),
        channel=route.channel,
        account_id=route.account_id,
        recipient=route.recipient,
    )
    entry = add_entry(
        case=case, event=event, at=at, author=author, body=body, channel=route.channel
    )
    saved = save_attachments(entry, attachments)
    entry.delivery = send_reply(
        case=case,
        route=route,
        fallbacks=others,
        body=body,
        attachments=saved,
        last_inbound_at=lambda channel: last_inbound_at(case, channel=channel),
    )
    entry.save(update_fields=["delivery"])
    # A reply the citizen must come to read (the portal) is announced where they hear from us.
    notify_reply_waiting(case, route=route, others=others)
    if new_status.value != previous:
        record_status_change(case, previous=previous, at=at, by=author)
    case.save(update_fields=update)
    announce(event)
    return ReplyOutcome(
        entry=entry,
        channel=route.channel,
        channel_label=route.label,
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
