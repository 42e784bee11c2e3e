"""The acknowledgement: a new case opened by a message is answered with its reference, its
private status link and what happens next, on the route the message came by.

Only on channels whose own answer does not show the reference (`acknowledges_by_message`:
email, and SMS or WhatsApp when they come; not the portal, the API or the console, whose
HTTP answer carries it). Never for a message that says a machine sent it (an auto-reply, an
out-of-office, a list: `InboundMessage.is_automated`), and never to one of our own
identities: mail from the account's own address is stored as ignored by the framework, and
one of our other accounts (help@ writing to info@) is never acknowledged here. The
framework's per-sender inbound rate limit and its cap on automatic messages per recipient
stand behind this.

Once per case, by construction: the link's secret is minted while the case is being opened
(`acknowledgement_token`), its digest saved with the case, and the message queued in the same
transaction; a message that joins an existing case, or a payload processed a second time
(answered from the case it opened), opens nothing and so acknowledges nothing. If the
transaction rolls back, the case and its acknowledgement go together.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from civicdesk.cases.services.notices import (
    NoticeRoute,
    case_facts,
    queue_notice,
    render_notice,
    status_page_url,
)
from civicdesk.channels.selectors import (
    acknowledges_by_message,
    own_identities,
    sender_identity,
)
from civicdesk.core.tokens import new_token

if TYPE_CHECKING:
    from civicdesk.cases.models import Case
    from civicdesk.channels.contracts import InboundMessage
    from civicdesk.channels.models import OutboundDelivery


def acknowledgement_route(message: InboundMessage, *, account_id: int | None) -> NoticeRoute | None:
    """Where the acknowledgement of a case `message` opens would go; None when it gets none."""
    if message.is_automated or not acknowledges_by_message(message.channel):
        return None
    if message.new_case_token_digest:
        return None  # the channel gave the citizen a link already
    senders = [(c.kind, c.value) for c in message.sender]
    identity = sender_identity(message.channel, senders)
    if not identity or identity.casefold() in own_identities(message.channel):
        return None  # nobody to answer, or one of our own accounts (never answer ourselves)
    kind = next((k for k, value in senders if value == identity), "")
    return NoticeRoute(
        channel=message.channel, recipient=identity, recipient_kind=kind, account_id=account_id
    )


def acknowledgement_token(route: NoticeRoute | None) -> str:
    """The status link's secret for a case about to be opened: new when it will be
    acknowledged ("" otherwise: the case keeps a secret nobody knows until one is issued)."""
    return new_token(24) if route is not None else ""


def acknowledge(
    case: Case, *, token: str, route: NoticeRoute, sender_name: str = ""
) -> OutboundDelivery:
    """Queue the acknowledgement of the new `case`, whose status secret is `token`, in the
    case's language. Precondition: in the transaction that opened the case."""
    notice = render_notice(
        "acknowledgement",
        {
            **case_facts(case, case.language),
            "name": sender_name,
            "status_url": status_page_url(token),
        },
        language=case.language,
    )
    return queue_notice(notice, route=route, thread_reference=case.reference)
