"""What the channels framework's fallback chain did to a reply, recorded on its case."""

from __future__ import annotations

from typing import Any

from civicdesk.cases.events import ReplyRerouted, ReplyUndeliverable
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.services.timeline import add_entry, announce, case_state


def record_reply_fallback(notice: Any) -> CaseEvent | None:
    """The fallback handler (`registry.set_fallback_handler`): the framework moved a reply to
    the citizen's next channel (`to_delivery_id` set) or found none left (None).

    Called inside the framework's transaction, so the entry commits with the move and the live
    update goes out after it. A notice for no known case (a notification, a case deleted) is
    ignored. `notice` is the framework's FallbackNotice.
    """
    case = Case.objects.filter(reference=notice.thread_reference).first()
    if case is None:
        return None
    event: ReplyRerouted | ReplyUndeliverable
    if notice.to_delivery_id is not None:
        event = ReplyRerouted(
            **case_state(case),
            from_channel=notice.from_channel,
            to_channel=notice.to_channel,
            reason=notice.reason,
            from_delivery_id=notice.from_delivery_id,
            to_delivery_id=notice.to_delivery_id,
        )
        delivery_id = notice.to_delivery_id
    else:
        event = ReplyUndeliverable(
            **case_state(case),
            reason=notice.reason,
            channel=notice.from_channel,
            delivery_id=notice.from_delivery_id,
        )
        delivery_id = notice.from_delivery_id
    entry = add_entry(
        case=case,
        event=event,
        channel=notice.to_channel or notice.from_channel,
        delivery_id=delivery_id,
    )
    announce(event)
    return entry
