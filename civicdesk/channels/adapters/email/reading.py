"""An email's bytes (RFC 5322, with MIME) read into the platform's InboundMessage.

`read_email` never raises anything but InvalidPayload (no sender to answer) and NoMessage (a
delivery status report or another bounce, not a citizen's message: see `bounces`). Everything
else a real client sends is read: the text part preferred to HTML, HTML-only mail sanitised and
read as text, parts in any charset (see `charsets`), attachments and inline images within the
account's limits (what is left out is said in `notes`), quoted history and signature folded
away (`quotes`), auto-replies flagged (`automation`), and the keys that thread a reply: its
Message-ID, In-Reply-To and References, a reply-address token, the reference in the subject.

Cost: one parse of the message and one pass over its parts; linear in its size.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any

from civicdesk.channels.adapters.email.automation import automation_reason, is_daemon
from civicdesk.channels.adapters.email.bounces import is_delivery_report, is_plain_bounce
from civicdesk.channels.adapters.email.charsets import clean_text, decode_text
from civicdesk.channels.adapters.email.envelope import AttachmentLimits, Envelope
from civicdesk.channels.adapters.email.headers import (
    MESSAGE_ID_MAX_LENGTH,
    TolerantPolicy,
    addresses,
    header_text,
    message_ids,
    normalise_address,
    reply_tag,
)
from civicdesk.channels.adapters.email.html_text import html_to_text, sanitise_html
from civicdesk.channels.adapters.email.quotes import fold
from civicdesk.channels.contracts import (
    InboundAttachment,
    InboundMessage,
    InvalidPayload,
    NoMessage,
    SenderContact,
)
from civicdesk.core import limits

# A case reference in a subject, bracketed as we send it or typed by the citizen.
_REFERENCE = re.compile(
    r"\[\s*([A-Z][A-Z0-9]{1,9}-\d{4}-\d{6,})\s*\]|\b([A-Z][A-Z0-9]{1,9}-\d{4}-\d{6,})\b",
    re.IGNORECASE,
)
_FORWARD_SUBJECT = re.compile(r"^\s*(\[[^\]]*\]\s*)?(fwd?|fw|tr|wg|rv|enc)\s*:", re.IGNORECASE)
_HTML_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MIME_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")
_BLOCKED_EXTENSIONS = {
    ".exe", ".bat", ".cmd", ".com", ".scr", ".pif", ".cpl", ".msi", ".msp", ".js", ".jse",
    ".vbs", ".vbe", ".wsf", ".wsh", ".ps1", ".jar", ".hta", ".lnk", ".reg", ".dll", ".iso",
}  # fmt: skip
# Sanitised HTML is kept for showing up to this size (its text is in `body` whatever it is).
HTML_MAX_LENGTH = 5 * limits.MESSAGE_BODY_MAX_LENGTH


@dataclass
class _Parts:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[InboundAttachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class _ReadOncePolicy(TolerantPolicy):
    """`TolerantPolicy` that parses each header of one message once.

    The standard policy builds a new header object (a full RFC 5322 parse) every time a header
    is read, and reading a message asks for the same ones many times: `get_content_type()`
    alone re-parses Content-Type on every call, about 16 times per message in our corpus.
    Measured on it (benchmarks/email_ingest.py), that was two thirds of `read_email`'s time.
    Header objects are immutable, so the first parse is kept, in a dict that belongs to this
    one parse (a new policy per message: nothing is shared between messages).
    """

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        object.__setattr__(self, "_parsed", {})

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name"):  # already a header object
            return value
        key = (name, value)
        parsed: dict[tuple[str, str], Any] = self._parsed  # type: ignore[attr-defined]
        found = parsed.get(key)
        if found is None:
            found = parsed[key] = super().header_fetch_parse(name, value)
        return found


def parse_bytes(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=_ReadOncePolicy()).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def parse_head(raw: bytes) -> Message:
    """The message's headers only, as sent (compat32: nothing decoded; the body is not read)."""
    return BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)


def read_head(raw: bytes) -> EmailMessage:
    """The message's headers only (the body is not split into parts), read as `read_email`
    reads them: the same split of the header block and the same policy, so that every value
    taken from it is the one the full read takes."""
    message = BytesParser(policy=_ReadOncePolicy()).parsebytes(raw, headersonly=True)
    assert isinstance(message, EmailMessage)
    return message


def sketch_email(raw: bytes, *, envelope: Envelope) -> tuple[str, str] | None:
    """(provider id, sender address) of the message `raw` carries, from its headers alone,
    exactly as `read_email` gives them (its `provider_message_id` and first sender); (provider
    id, "") for a delivery status report, which `read_email` refuses as such before anything
    else; None for mail that only the full read can place (a machine's mail that may be a
    plain bounce, or no sender at all), which the caller reads in full at once.

    Cost: the header block split and the few headers named here parsed (From, Reply-To,
    Sender, Date, Subject, Message-ID, Content-Type), plus a digest of the body's bytes."""
    head = read_head(raw)
    if is_delivery_report(head):
        return provider_id(head, raw), ""
    if envelope.sender == "":
        return None
    try:
        _, sender = _sender(head, envelope)
    except InvalidPayload:
        return None
    if is_daemon(sender):
        return None  # a plain-text bounce, perhaps: only the full read can say
    return provider_id(head, raw), sender


def read_email(
    raw: bytes, *, channel: str, envelope: Envelope, attachment_limits: AttachmentLimits
) -> InboundMessage:
    """The message `raw` carries; InvalidPayload when it names no sender, NoMessage for a
    delivery status report."""
    message = parse_bytes(raw)
    if is_delivery_report(message):
        raise NoMessage("a delivery status report (a bounce), not a citizen's message")
    subject = header_text(message, "Subject")[: limits.SUBJECT_MAX_LENGTH]
    sender_name, sender = _sender(message, envelope)
    if is_plain_bounce(message, sender=sender, envelope=envelope):
        raise NoMessage("a bounce about one of our messages, not a citizen's message")
    ours = _our_addresses(message, envelope)
    recipient = _recipient(message, envelope)
    ours.add(recipient)
    parts = _Parts()
    _walk(message, parts, attachment_limits)
    forwarded = bool(_FORWARD_SUBJECT.match(subject))
    body_html = ""
    if parts.plain:
        text = "\n\n".join(part.strip("\n") for part in parts.plain)
    elif parts.html:
        joined = "\n".join(parts.html)
        text = html_to_text(joined)
        body_html = sanitise_html(joined)
        if len(body_html) > HTML_MAX_LENGTH:
            parts.notes.append("The HTML version is too large to show; its text is shown.")
            body_html = ""
    else:
        text = ""
    folded = fold(text, forwarded=forwarded)
    body = _bounded(folded.new_text, parts.notes, "The message")
    quoted = _bounded(folded.quoted, parts.notes, "The quoted history")
    automated = automation_reason(
        message, sender=sender, envelope_sender=envelope.sender, subject=subject
    )
    if automated:
        parts.notes.append(f"Sent by a machine ({automated}): nothing automatic answers it.")
    in_reply_to = message_ids(message, "In-Reply-To")
    references = message_ids(message, "References")
    answers = list(dict.fromkeys([*in_reply_to, *reversed(references)]))
    language = header_text(message, "Content-Language").split(",")[0].split("-")[0].strip().lower()
    return InboundMessage(
        channel=channel,
        provider_message_id=provider_id(message, raw),
        body=body,
        sender=(SenderContact(kind="email", value=sender),),
        sender_name=sender_name,
        subject=subject,
        language=language[:10],
        case_reference=_subject_reference(subject),
        attachments=tuple(parts.attachments),
        is_automated=bool(automated),
        recipient=recipient,
        participants=tuple(
            SenderContact(kind="email", value=address)
            for _, address in addresses(message, "To", "Cc")
            if address != sender and address not in ours and _base(address) not in ours
        ),
        quoted_text=quoted,
        body_html=body_html,
        in_reply_to_ids=tuple(_short_id(value) for value in answers if value),
        reply_address_token=_reply_token(message, envelope),
        notes=tuple(clean_text(note) for note in parts.notes),
    )


# --- who -----------------------------------------------------------------------------------


def _sender(message: Message, envelope: Envelope) -> tuple[str, str]:
    for name in ("From", "Reply-To", "Sender"):
        found = addresses(message, name)
        if found:
            return found[0]
    fallback = normalise_address(envelope.sender or "")
    if fallback:
        return "", fallback
    raise InvalidPayload(
        "the message has no valid sender address (no From, Reply-To, Sender or envelope sender)"
    )


def _base(address: str) -> str:
    """`help+token@x` -> `help@x`."""
    local, _, domain = address.partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def _our_addresses(message: Message, envelope: Envelope) -> set[str]:
    """Our own addresses among the recipients: the envelope's (the listener accepted only
    ours), with and without a reply tag."""
    ours = {normalise_address(value) for value in envelope.recipients} - {""}
    return ours | {_base(value) for value in ours}


def _recipient(message: Message, envelope: Envelope) -> str:
    """Our address the message came to: the envelope's, else the first the headers name."""
    for value in envelope.recipients:
        if normalise_address(value):
            return _base(normalise_address(value))
    found = addresses(message, "To", "Cc")
    return _base(found[0][1]) if found else ""


def _reply_token(message: Message, envelope: Envelope) -> str:
    return reply_tag(list(envelope.recipients) or [a for _, a in addresses(message, "To", "Cc")])


# --- threading -----------------------------------------------------------------------------


def _subject_reference(subject: str) -> str:
    match = _REFERENCE.search(subject)
    return (match.group(1) or match.group(2)).upper() if match else ""


def _short_id(message_id: str) -> str:
    value = clean_text(message_id).strip()
    if len(value) <= MESSAGE_ID_MAX_LENGTH:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:40]


def content_digest(message: Message, raw: bytes) -> str:
    """A digest of what the sender wrote (From, Date, Subject and the body bytes), the same
    however many relays added trace headers on the way."""
    match = _HEADER_END.search(raw)
    body = raw[match.end() :] if match else b""
    body = body.replace(b"\r\n", b"\n").rstrip()
    digest = hashlib.sha256()
    for name in ("From", "Date", "Subject"):
        digest.update(header_text(message, name).encode("utf-8", "replace") + b"\n")
    digest.update(body)
    return digest.hexdigest()


def provider_id(message: Message, raw: bytes) -> str:
    """`<message-id>#<content digest>`: the same message delivered twice is one; a different
    message reusing a Message-ID (some mailers do) is not. Without a Message-ID, the digest."""
    digest = content_digest(message, raw)
    ids = message_ids(message, "Message-ID")
    if ids:
        return f"<{_short_id(ids[0])}>#{digest[:16]}"
    return f"sha256:{digest[:48]}"


def thread_key_prefix(message_id: str) -> str:
    """The start every provider id of the message `message_id` shares (for lookups)."""
    return f"<{_short_id(message_id)}>#"


# --- parts ---------------------------------------------------------------------------------


def _walk(part: Message, parts: _Parts, attachment_limits: AttachmentLimits) -> None:
    if part.is_multipart():
        children = [child for child in part.get_payload() if isinstance(child, Message)]
        if part.get_content_subtype() == "alternative" and children:
            chosen = _preferred_alternative(children)
            for child in children:
                if child is chosen:
                    _walk(child, parts, attachment_limits)
                else:
                    _keep_files_only(child, parts, attachment_limits)
        else:
            for child in children:
                _walk(child, parts, attachment_limits)
        return
    content_type = part.get_content_type()
    disposition = _disposition(part)
    filename = _filename(part)
    if content_type in {"text/plain", "text/html"} and disposition != "attachment" and not filename:
        text = _text_of(part, parts.notes)
        (parts.plain if content_type == "text/plain" else parts.html).append(text)
        return
    _keep_file(part, parts, attachment_limits, filename=filename)


def _preferred_alternative(children: list[Message]) -> Message:
    for wanted in ("text/plain", "text/html"):
        for child in children:
            if any(p.get_content_type() == wanted for p in _leaves(child)):
                return child
    return children[-1]


def _leaves(part: Message) -> list[Message]:
    if not part.is_multipart():
        return [part]
    return [
        leaf
        for child in part.get_payload()
        if isinstance(child, Message)
        for leaf in _leaves(child)
    ]


def _keep_files_only(part: Message, parts: _Parts, attachment_limits: AttachmentLimits) -> None:
    """The other versions of a multipart/alternative: only their images and files count."""
    for leaf in _leaves(part):
        if leaf.get_content_maintype() != "text":
            _keep_file(leaf, parts, attachment_limits, filename=_filename(leaf))


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:  # an unreadable Content-Disposition: treat as unstated
        return ""


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except Exception:  # unreadable RFC 2231 parameters
        name = ""
    if isinstance(name, tuple):  # an RFC 2231 value the library did not collapse
        name = name[2]
    text = str(name)
    if any("\udc80" <= char <= "\udcff" for char in text):
        text = decode_text(text.encode("utf-8", "surrogateescape"), None).text
    text = _UNSAFE_NAME.sub("_", clean_text(text)).strip(" ._")
    return text[-limits.NAME_MAX_LENGTH :]


def _payload_bytes(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822" or part.get_content_maintype() == "multipart":
        inner = part.get_payload()
        if isinstance(inner, list):
            return b"".join(m.as_bytes() for m in inner if isinstance(m, Message))
    try:
        data = part.get_payload(decode=True)
    except Exception:  # a transfer encoding the library cannot undo: keep the raw text
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:  # an unreadable charset parameter: guess from the bytes
        return None


def _text_of(part: Message, notes: list[str]) -> str:
    data = _payload_bytes(part)
    charset = _charset(part)
    if charset is None and part.get_content_type() == "text/html":
        match = _HTML_CHARSET.search(data[:4096])
        charset = match.group(1).decode("ascii") if match else None
    decoded = decode_text(data, charset)
    if decoded.note:
        notes.append(f"The text's charset: {decoded.note}.")
    return decoded.text


def _keep_file(
    part: Message, parts: _Parts, attachment_limits: AttachmentLimits, *, filename: str
) -> None:
    content_type = part.get_content_type()
    if not _MIME_TYPE.match(content_type):
        content_type = "application/octet-stream"
    content = _payload_bytes(part)
    content_id = header_text(part, "Content-ID").strip().strip("<>")
    number = len(parts.attachments) + 1
    if not filename:
        extension = (
            ".eml"
            if content_type == "message/rfc822"
            else (mimetypes.guess_extension(content_type) or ".bin")
        )
        stem = "image" if content_id and content_type.startswith("image/") else "attachment"
        filename = f"{stem}-{number}{extension}"
    extension = ("." + filename.rsplit(".", 1)[1].lower()) if "." in filename else ""
    if extension in _BLOCKED_EXTENSIONS:
        parts.notes.append(f"Left out {filename}: files of this kind can carry programs.")
    elif not attachment_limits.allows_type(content_type):
        parts.notes.append(f"Left out {filename}: files of type {content_type} are not accepted.")
    elif len(content) > attachment_limits.max_bytes:
        parts.notes.append(
            f"Left out {filename} ({len(content)} bytes): over the limit of "
            f"{attachment_limits.max_bytes} bytes."
        )
    elif content:
        parts.attachments.append(
            InboundAttachment(
                filename=filename,
                content_type=content_type,
                content=content,
                content_id=content_id[: limits.NAME_MAX_LENGTH],
            )
        )


def _bounded(text: str, notes: list[str], what: str) -> str:
    if len(text) <= limits.MESSAGE_BODY_MAX_LENGTH:
        return text
    notes.append(
        f"{what} is longer than {limits.MESSAGE_BODY_MAX_LENGTH} characters; it is shortened "
        "here and kept whole in the stored original."
    )
    return text[: limits.MESSAGE_BODY_MAX_LENGTH - 1] + "…"
