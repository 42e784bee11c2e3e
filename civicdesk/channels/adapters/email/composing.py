"""A reply as a proper email: threaded, with a reply address that routes back, text and HTML.

Every message we send has a Message-ID `<token>@<our domain>` and a Reply-To
`<mailbox>+<token>@<our domain>`, where the token is the case reference and 48 random bits:
a reply that keeps either (In-Reply-To/References, or the address) is matched to the case by
the framework, proven (only the message's recipients saw the token). In-Reply-To and
References name the thread's earlier messages, so every client shows one conversation; the
subject carries the reference in brackets. The HTML part is built from the same text (one
source, escaped, web addresses as links), for clients that show only HTML. Automatic
messages say so (RFC 3834 `Auto-Submitted`), so that well-behaved responders never answer
them.
"""

from __future__ import annotations

import html
import re
import secrets
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.contracts import OutgoingMessage

_SLUG = re.compile(r"[^a-z0-9-]+")
_PROVIDER_ID = re.compile(r"^<([^<>\s]+@[^<>\s]+)>#[0-9a-f]+$")
_OWN_ID = re.compile(r"^[^<>\s#]+@[^<>\s#]+$")


def new_token(thread_reference: str) -> str:
    """`riv-2026-000123.4f2a9c0d1e7b`: the reference (for people reading headers) and 48
    random bits (what proves the reply)."""
    slug = _SLUG.sub("-", thread_reference.lower()).strip("-")[:40] or "message"
    return f"{slug}.{secrets.token_hex(6)}"


def message_id_of(provider_id: str) -> str:
    """The Message-ID inside one of our provider ids ("" for a content hash: it has none)."""
    match = _PROVIDER_ID.match(provider_id)
    if match:
        return match.group(1)
    return provider_id if _OWN_ID.match(provider_id) else ""


def reply_address(config: EmailConfig, token: str) -> str:
    local, _, domain = config.address.partition("@")
    return f"{local}+{token}@{domain}"


def subject_with_reference(subject: str, reference: str) -> str:
    if not reference or reference.upper() in subject.upper():
        return subject
    return f"[{reference}] {subject}".strip()


# A web address in the text, without the punctuation that ends a sentence around it.
_LINK = re.compile(r"https?://[^\s<>\"']+?(?=[.,;:!?)]*(?:\s|$))")


def _html_line(line: str) -> str:
    """One line of text as HTML: escaped, its web addresses as links (a status link can then
    be followed from clients that show only the HTML part)."""
    parts: list[str] = []
    end = 0
    for match in _LINK.finditer(line):
        url = html.escape(match.group(0))
        parts += [html.escape(line[end : match.start()]), f'<a href="{url}">{url}</a>']
        end = match.end()
    parts.append(html.escape(line[end:]))
    return "".join(parts)


def text_as_html(text: str) -> str:
    paragraphs = [part for part in re.split(r"\n\s*\n", text.strip()) if part.strip()]
    body = "\n".join(
        "<p>" + "<br>\n".join(_html_line(line) for line in part.splitlines()) + "</p>"
        for part in paragraphs
    )
    head = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>'
    return f"{head}\n{body}\n</body></html>\n"


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(text: str) -> str:
    """`text` fit for a header: line breaks and other control characters become one space
    (a case subject typed with a line break must neither add a header nor make the message
    impossible to write)."""
    return " ".join(_CONTROL.sub(" ", text).split())


def compose(
    message: OutgoingMessage, config: EmailConfig, *, token: str, at: datetime
) -> EmailMessage:
    """The email for `message`, leaving from `config.address`."""
    email = EmailMessage()
    email["From"] = formataddr((one_line(config.from_name), config.address))
    email["To"] = one_line(message.recipient)
    copies = [one_line(a) for a in message.copy_to if a != message.recipient]
    if copies:
        email["Cc"] = ", ".join(copies)
    email["Reply-To"] = reply_address(config, token)
    email["Subject"] = one_line(subject_with_reference(message.subject, message.thread_reference))
    email["Date"] = format_datetime(at)
    email["Message-ID"] = f"<{token}@{config.domain}>"
    earlier = [value for value in map(message_id_of, message.thread_ids) if value]
    if earlier:
        email["In-Reply-To"] = f"<{earlier[-1]}>"
        email["References"] = " ".join(f"<{value}>" for value in earlier)
    if message.is_automatic:
        email["Auto-Submitted"] = "auto-generated"
        email["X-Auto-Response-Suppress"] = "All"
    email.set_content(message.body)
    email.add_alternative(text_as_html(message.body), subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        if not subtype:
            maintype, subtype = "application", "octet-stream"
        email.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return email
