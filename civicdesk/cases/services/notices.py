"""Automatic messages to citizens (acknowledgements, notifications, their status links):
written from one template per kind, in the citizen's language, and handed to the channels
framework as automatic messages (loop protection caps them per recipient).

A template (`cases/notices/<kind>.txt`) is plain text: its first line is the subject, the
rest, after a blank line, the body. Channels make what they need of it (email: a text part
and an HTML part built from the same text, links clickable). Nothing here names a channel:
the route says where the message goes, so SMS or WhatsApp get the same notices for free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation

from civicdesk.cases.presenters import citizen_status_label
from civicdesk.cases.signed_links import sign_status_link
from civicdesk.channels.contracts import OutgoingMessage
from civicdesk.channels.selectors import channel_account
from civicdesk.channels.services import queue_delivery
from civicdesk.core.memo import remembered

if TYPE_CHECKING:
    from civicdesk.cases.models import Case
    from civicdesk.channels.models import OutboundDelivery

LANGUAGES = {"en", "ro"}


@dataclass(frozen=True)
class NoticeRoute:
    """Where an automatic message goes: the channel, the citizen's address in it, the kind of
    that address, and the account it leaves from (None: the channel's default)."""

    channel: str
    recipient: str
    recipient_kind: str = ""
    account_id: int | None = None


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str


def language_of(language: str) -> str:
    """One of the languages notices are written in (English when unknown)."""
    code = (language or "").split("-")[0].lower()
    return code if code in LANGUAGES else "en"


def status_page_url(token: str) -> str:
    """The absolute address of a status page, for a message (CIVICDESK_PUBLIC_URL)."""
    base = str(settings.CIVICDESK_PUBLIC_URL).rstrip("/")
    return base + reverse("portal:status", args=[token])


def signed_status_url(case: Case) -> str:
    """A status link for a message sent after the acknowledgement (see `cases.signed_links`):
    it works until the case's secret is re-issued."""
    return status_page_url(sign_status_link(case_id=case.pk, token_digest=case.status_token_digest))


def case_facts(case: Case, language: str) -> dict[str, Any]:
    """What every notice about one case may say: its reference, subject, service, status in
    plain words and the first response target (the citizen's local time), in `language`."""
    language = language_of(language)
    with translation.override(language):
        due = case.first_response_due_at if case.first_responded_at is None else None
        return {
            "reference": case.reference,
            "subject": case.subject,
            "service": case.service.localized_name(language) if case.service else "",
            "status": citizen_status_label(case.status),
            "status_code": case.status,
            "due": formats.date_format(timezone.localtime(due), "DATETIME_FORMAT") if due else "",
        }


def render_notice(kind: str, context: dict[str, Any], *, language: str) -> Notice:
    """The notice `kind` in `language` (see the module's note on the template's shape)."""
    with translation.override(language_of(language)):
        text = render_to_string(
            f"cases/notices/{kind}.txt",
            {**context, "body_name": settings.CIVICDESK_BODY_NAME},
        )
    subject, _, body = text.strip().partition("\n")
    return Notice(subject=subject.strip(), body=_tidy(body))


def _tidy(body: str) -> str:
    """The body without the blank lines template tags leave: at most one between paragraphs."""
    lines = [line.rstrip() for line in body.strip().splitlines()]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept).strip() + "\n"


def queue_notice(
    notice: Notice, *, route: NoticeRoute, thread_reference: str = ""
) -> OutboundDelivery:
    """Queue `notice` on `route` as an automatic message (sent after commit). With
    `thread_reference` (a case's reference) it joins the case's thread in channels that
    thread (email: In-Reply-To, a reply address back to the case)."""
    message = OutgoingMessage(
        channel=route.channel,
        recipient=route.recipient,
        recipient_kind=route.recipient_kind,
        subject=notice.subject,
        body=notice.body,
        thread_reference=thread_reference,
        is_automatic=True,
    )
    account_id = route.account_id
    account = (
        # Read once per worker's batch (core.memo), not once per acknowledgement.
        remembered(("channels.account", account_id), lambda: channel_account(account_id))
        if account_id
        else None
    )
    return queue_delivery(message=message, account=account)
