"""Handing a reply to the channels framework: its route, fallbacks and files.

The framework owns sending, retries, receipts and moving a message along the fallback chain;
this module only says where the reply should go first and where it may go next.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from civicdesk.channels import contracts
from civicdesk.channels.contracts import OutgoingMessage
from civicdesk.channels.selectors import ReplyRoute, channel_account
from civicdesk.channels.services import queue_delivery

if TYPE_CHECKING:
    from datetime import datetime

    from civicdesk.cases.models import Attachment, Case
    from civicdesk.channels.models import OutboundDelivery


def _supports(name: str) -> bool:
    # The framework's fallback and attachment seams arrive with the channels branch; until it
    # is merged a reply still goes out, by its first route, without them.
    return name in inspect.signature(queue_delivery).parameters


def send_reply(
    *,
    case: Case,
    route: ReplyRoute,
    fallbacks: Sequence[ReplyRoute],
    body: str,
    attachments: Sequence[Attachment],
    last_inbound_at: datetime | None,
) -> OutboundDelivery:
    """Queue the reply in `route` (sent after commit), with the other routes as fallbacks and
    the stored files as references the framework loads for the adapter. Two queries."""
    message = OutgoingMessage(
        channel=route.channel,
        recipient=route.recipient,
        recipient_kind=route.recipient_kind,
        body=body,
        subject=f"[{case.reference}] {case.subject}",
        thread_reference=case.reference,
    )
    extra: dict[str, Any] = {}
    attachment_ref = getattr(contracts, "AttachmentRef", None)
    if attachment_ref is not None and _supports("attachments"):
        extra["attachments"] = tuple(
            attachment_ref(
                storage_name=a.file.name, filename=a.filename, content_type=a.content_type
            )
            for a in attachments
        )
    delivery_route = getattr(contracts, "DeliveryRoute", None)
    if delivery_route is not None and _supports("fallbacks"):
        extra["fallbacks"] = tuple(
            delivery_route(
                channel=r.channel,
                recipient=r.recipient,
                account_id=r.account_id,
                last_inbound_at=None,
            )
            for r in fallbacks
        )
    if _supports("last_inbound_at"):
        extra["last_inbound_at"] = last_inbound_at
    account = channel_account(route.account_id) if route.account_id else None
    return queue_delivery(message=message, account=account, **extra)
