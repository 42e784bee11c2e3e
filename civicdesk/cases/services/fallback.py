"""What the channels framework's fallback chain did to a reply, recorded on its case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from civicdesk.cases.events import ReplyRerouted, ReplyUndeliverable
from civicdesk.cases.models import Case
from civicdesk.cases.services.timeline import add_entry, announce, case_state

if TYPE_CHECKING:
    from civicdesk.channels.registry import FallbackNotice


def record_reply_fallback(notice: FallbackNotice) -> None:
    """The fallback handler (`registry.set_fallback_handler`): the framework moved a reply to
    the citizen's next channel (`to_delivery_id` set) or found none left (None).

    Called inside the framework's transaction, so the entry commits with the move and the live
    update goes out after it. A notice for no known case (a notification, a case deleted) is
    ignored.
    """
    case = Case.objects.filter(reference=notice.thread_reference).first()
    if case is None:
        return
    event: ReplyRerouted | ReplyUndeliverable
    if notice.to_delivery_id is not None:
        event = ReplyRerouted(
            **case_state(case),
            from_channel=notice.from_channel,
            to_channel=notice.to_channel,
            reason=notice.reason,
            from_delivery_id=notice.from_delivery_id,
            to_delivery_id=notice.to_delivery_id,
            bounced_recipient=notice.bounced_recipient,
        )
        delivery_id = notice.to_delivery_id
    else:
        event = ReplyUndeliverable(
            **case_state(case),
            reason=notice.reason,
            channel=notice.from_channel,
            delivery_id=notice.from_delivery_id,
            bounced_recipient=notice.bounced_recipient,
        )
        delivery_id = notice.from_delivery_id
    add_entry(
        case=case,
        event=event,
        channel=notice.to_channel or notice.from_channel,
        delivery_id=delivery_id,
    )
    announce(event)
