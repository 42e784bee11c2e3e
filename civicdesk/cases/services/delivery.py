"""Handing a reply to the channels framework: its route, fallbacks and files.

The framework owns sending, retries, receipts and moving a message along the fallback chain;
this module only says where the reply should go first and where it may go next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from civicdesk.cases.services.participants import participant_values
from civicdesk.channels.contracts import AttachmentRef, DeliveryRoute, OutgoingMessage
from civicdesk.channels.selectors import ReplyRoute, channel_account
from civicdesk.channels.services import queue_delivery

if TYPE_CHECKING:
    from datetime import datetime

    from civicdesk.cases.models import Attachment, Case
    from civicdesk.channels.models import OutboundDelivery


def send_reply(
    *,
    case: Case,
    route: ReplyRoute,
    fallbacks: Sequence[ReplyRoute],
    body: str,
    attachments: Sequence[Attachment],
    last_inbound_at: Callable[[str], datetime | None],
) -> OutboundDelivery:
    """Queue the reply in `route` (sent after commit), with the other routes, in order, as
    the fallback chain, and the stored files as references the framework loads for the
    adapter. `last_inbound_at(channel)` says when the citizen last wrote in a channel (reply
    windows count from it). One query per route, plus the account."""
    copy_to = (
        tuple(v for v in participant_values(case, kind="email") if v != route.recipient)
        if route.recipient_kind == "email"
        else ()
    )
    message = OutgoingMessage(
        channel=route.channel,
        recipient=route.recipient,
        recipient_kind=route.recipient_kind,
        body=body,
        subject=f"[{case.reference}] {case.subject}",
        thread_reference=case.reference,
        copy_to=copy_to,
    )
    return queue_delivery(
        message=message,
        account=channel_account(route.account_id) if route.account_id else None,
        attachments=[
            AttachmentRef(
                storage_name=a.file.name, filename=a.filename, content_type=a.content_type
            )
            for a in attachments
        ],
        fallbacks=[
            DeliveryRoute(
                channel=r.channel,
                recipient=r.recipient,
                account_id=r.account_id,
                last_inbound_at=last_inbound_at(r.channel),
            )
            for r in fallbacks
        ],
        last_inbound_at=last_inbound_at(route.channel),
    )
