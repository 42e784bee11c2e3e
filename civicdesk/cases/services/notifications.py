"""Service messages to the citizen after the acknowledgement: a status change, a reply they
can read only on the status page, and their status links when they lost them.

Each is an automatic message (capped per recipient by the framework's loop protection), with
no unsubscribe: it is about a request the citizen made. Links in them are signed status
links (`cases.signed_links`): they work without the stored secret and stop working when the
case's secret is re-issued; nothing the citizen already holds stops working because of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db.models import Q

from civicdesk.cases.kernels.status import FINISHED
from civicdesk.cases.models import Case
from civicdesk.cases.selectors import reply_routes
from civicdesk.cases.services.notices import (
    NoticeRoute,
    case_facts,
    language_of,
    queue_notice,
    render_notice,
    signed_status_url,
)
from civicdesk.channels.selectors import (
    ReplyRoute,
    acknowledges_by_message,
    default_account_id,
    reaches_by_itself,
)
from civicdesk.citizens.selectors import citizen_by_contact
from civicdesk.core.clock import now

if TYPE_CHECKING:
    from civicdesk.channels.models import OutboundDelivery

# Finished requests listed with the open ones in "resend my links", this long after.
RECENT = timedelta(days=90)
# The most requests one "resend my links" message lists (the most recent first).
LINKS_LISTED = 20
LINKS_CHANNEL = "email"


def _notice_route(route: ReplyRoute) -> NoticeRoute:
    return NoticeRoute(
        channel=route.channel,
        recipient=route.recipient,
        recipient_kind=route.recipient_kind,
        account_id=route.account_id,
    )


def _from_the_case(case: Case, route: ReplyRoute) -> bool:
    """The route leads back to the address the request came from. A notice carries a link
    that opens the case, so it goes nowhere else: the citizen's record may hold addresses
    that other requests tied to it, which nothing proves are theirs."""
    return bool(route.recipient) and route.recipient.casefold() == case.channel_identity.casefold()


def notify_status_change(case: Case) -> OutboundDelivery | None:
    """Tell the citizen the case's new status, on their channel when it speaks by message
    (email; not the portal, where the status page says it). Three queries for the route; None
    when the citizen's channel is not one that sends messages."""
    routes = reply_routes(case)
    if (
        not routes
        or not acknowledges_by_message(routes[0].channel)
        or not _from_the_case(case, routes[0])
    ):
        return None
    notice = render_notice(
        "status_changed",
        {**case_facts(case, case.language), "status_url": signed_status_url(case)},
        language=case.language,
    )
    return queue_notice(notice, route=_notice_route(routes[0]), thread_reference=case.reference)


def notify_reply_waiting(
    case: Case, *, route: ReplyRoute, others: Sequence[ReplyRoute]
) -> OutboundDelivery | None:
    """After a reply that went where the citizen must come to read it (the portal's status
    page): tell them on the first of their other routes that speaks by message. A reply
    delivered by email, SMS or any channel with an address is its own notice: nothing then."""
    if not reaches_by_itself(route.channel):
        return None
    target = next(
        (r for r in others if acknowledges_by_message(r.channel) and _from_the_case(case, r)),
        None,
    )
    if target is None:
        return None
    notice = render_notice(
        "reply_waiting",
        {**case_facts(case, case.language), "status_url": signed_status_url(case)},
        language=case.language,
    )
    return queue_notice(notice, route=_notice_route(target), thread_reference=case.reference)


def send_status_links(*, email: str, language: str) -> OutboundDelivery | None:
    """Send the citizen whose address `email` is the links to their requests made from that
    address, open or finished in the last RECENT, to that address only (as stored), in
    `language` (the page's). Nothing when the address is nobody's or they have no such
    request; the caller's answer must not say which. The links are signed (see the module's
    note): asking again, or someone typing the citizen's address, never breaks a link the
    citizen holds. Four queries; two more when a message is queued."""
    if not acknowledges_by_message(LINKS_CHANNEL):
        return None
    known = citizen_by_contact(kind="email", value=email)
    account_id = default_account_id(LINKS_CHANNEL)
    if known is None or account_id is None:
        return None
    citizen_id, address = known
    finished = [status.value for status in FINISHED]
    # Only the requests made from this very address: a record can hold addresses that other
    # requests tied to it (one giving the citizen's phone number with someone else's email),
    # and none of those may receive the links to the citizen's other requests.
    cases = list(
        Case.objects.filter(citizen_id=citizen_id, channel_identity__iexact=address)
        .filter(~Q(status__in=finished) | Q(resolved_at__gte=now() - RECENT))
        .select_related("service")
        .order_by("-last_activity_at", "-id")[:LINKS_LISTED]
    )
    if not cases:
        return None
    language = language_of(language)
    links = [{**case_facts(case, language), "url": signed_status_url(case)} for case in cases]
    notice = render_notice("status_links", {"links": links}, language=language)
    own = next(
        (
            c.channel_account_id
            for c in cases
            if c.channel == LINKS_CHANNEL and c.channel_account_id
        ),
        None,
    )
    route = NoticeRoute(
        channel=LINKS_CHANNEL,
        recipient=address,
        recipient_kind="email",
        account_id=own or account_id,
    )
    return queue_notice(notice, route=route)


def request_status_links(*, email: str, language: str) -> None:
    """`send_status_links`, by a worker: the page that asks answers in the same time whether
    the address is known or not (the lookup and the message are not in its answer's time).
    With the immediate task backend (development, tests) it runs at once."""
    from civicdesk.cases.tasks import send_status_links_task

    send_status_links_task.enqueue(email=email, language=language)
