"""Bounces: delivery status notifications read into receipts for the messages we sent.

RFC 3464 reports (`multipart/report; report-type=delivery-status`) carry one block of fields per
recipient in their `message/delivery-status` part (Action, Status, Diagnostic-Code,
Final-Recipient, Original-Recipient) and return our message, whole (`message/rfc822`) or as
its headers (`text/rfc822-headers`): its Message-ID is the provider id of our delivery. When
the report returns neither, the reply token of the address it came back to names the message
(ours leave with the envelope sender `<mailbox>+<token>@<domain>`, see `adapter.send`).

Servers that still bounce without a report (a daemon or the null sender writing "550 ..." in
plain text) are read too, but only when the text quotes the Message-ID of one of our own
messages (`<slug>.<48 bits in hex>@...`, see `composing.new_token`): anyone may write "550".

Status: 5.x.x fails the message for good; 4.x.x fails it for now (a soft bounce: the framework
sends again). Action `delayed` is no failure (the receiving server keeps trying): a `sent`
receipt with the delay's reason. The address itself counts as unreachable (a hard bounce) for
the address and mailbox statuses (5.1.x, 5.2.1, 5.4.1, 5.4.4) and for a plain "no such user"
in the diagnostic; not for policy, spam or content refusals (5.7.x, 5.3.4, 5.6.x), which fail
the message and leave the address alone.

Cost: one parse of the report and one pass over its parts; for other mail, a parse of its
headers only (`may_be_bounce`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses

from civicdesk.channels.adapters.email.automation import is_daemon
from civicdesk.channels.adapters.email.envelope import Envelope
from civicdesk.channels.adapters.email.headers import (
    TolerantPolicy,
    addresses,
    header_text,
    message_ids,
    normalise_address,
    reply_tag,
)
from civicdesk.channels.contracts import DeliveryReceipt, ReceiptState

# An enhanced status code (RFC 3463), alone or inside a diagnostic.
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# An SMTP reply code at the start of a diagnostic or a line of a plain-text bounce.
_REPLY_CODE = re.compile(r"(?:^|[\s;:(])([45])\d\d(?:[\s-]|$)", re.MULTILINE)
# Statuses about the address, not the message (RFC 3463 subjects 1 and 2, routing).
_ADDRESS_STATUSES = {(2, 1), (4, 1), (4, 4)}
# In a plain-text bounce, the server's answer: a reply code with an enhanced status of its
# class ("550 5.1.1", "452-4.2.2"), or a code opening a line beside words only bounces use
# (an out-of-office quoting our message may hold "call 0722 500 100").
_CODE_AND_STATUS = re.compile(r"(?:^|[\s;:(])(([45])\d\d)[\s-]+\2\.\d{1,3}\.\d{1,3}\b", re.M)
_CODE_AT_LINE_START = re.compile(r"^\s*(([45])\d\d)[\s-]", re.MULTILINE)
_BOUNCE_WORDS = re.compile(
    r"could not be delivered|couldn't be delivered|undeliverable|delivery (has )?failed|"
    r"failure notice|permanent (fatal )?error|returned mail|not able to deliver|"
    r"wasn't able to deliver|unable to deliver|user unknown|unknown user|no such user",
    re.IGNORECASE,
)
_NO_SUCH_USER = re.compile(
    r"user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|"
    r"recipient not found|mailbox (unavailable|not found)|invalid (recipient|mailbox)|"
    r"address rejected",
    re.IGNORECASE,
)
# The Message-ID of one of our own messages (composing.new_token + the domain).
_OUR_MESSAGE_ID = re.compile(r"^[a-z0-9-]{1,40}\.[0-9a-f]{12}@[^<>\s@]+$")
_QUOTED_MESSAGE_ID = re.compile(r"^message-id:\s*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)
_QUOTED_RECIPIENT = re.compile(r"^\s*<([^<>\s]+@[^<>\s]+)>:?\s*$", re.MULTILINE)
_DIAGNOSTIC_MAX_LENGTH = 500


@dataclass(frozen=True)
class _Status:
    klass: int  # 2, 4 or 5
    subject: int
    detail: int

    @property
    def text(self) -> str:
        return f"{self.klass}.{self.subject}.{self.detail}"


def is_delivery_report(message: Message) -> bool:
    """A report about a message (RFC 3464 delivery status, RFC 8098 disposition), not mail."""
    if message.get_content_type() != "multipart/report":
        return False
    report_type = str(message.get_param("report-type") or "").lower()
    return report_type in {"delivery-status", "disposition-notification"}


def may_be_bounce(head: Message, *, envelope: Envelope) -> bool:
    """From the headers alone (`head`: parsed with the fast compat32 policy, values as sent):
    could this be a bounce? A report, or mail from the null sender or a daemon. Lets citizens'
    mail skip the full parse `read_bounce` needs."""
    if is_delivery_report(head) or envelope.sender == "":
        return True
    if str(head.get("Return-Path", "")).replace(" ", "") == "<>":
        return True
    senders = [str(value) for value in (head.get("From"), head.get("Sender")) if value]
    return any(is_daemon(address.lower()) for _, address in getaddresses(senders))


def is_plain_bounce(message: Message, *, sender: str, envelope: Envelope) -> bool:
    """A bounce written as plain mail (no report) about one of our own messages."""
    if is_delivery_report(message):
        return False
    machine = envelope.sender == "" or is_daemon(sender)
    if not machine:
        return False
    text = _all_text(message)
    return _our_quoted_id(text) != "" and _plain_code(_before_quote(text)) is not None


def _plain_code(notice: str) -> re.Match[str] | None:
    """Where the server's answer starts in a plain-text bounce's own words, if anywhere."""
    found = _CODE_AND_STATUS.search(notice)
    if found is None and _BOUNCE_WORDS.search(notice):
        found = _CODE_AT_LINE_START.search(notice)
    return found


def read_bounce(message: Message, *, envelope: Envelope) -> tuple[DeliveryReceipt, ...]:
    """The receipts a bounce carries, one per recipient it reports on; () when `message` is
    no bounce or names no message of ours it could be matched to."""
    if is_delivery_report(message):
        if str(message.get_param("report-type") or "").lower() != "delivery-status":
            return ()
        return _report_receipts(message, envelope=envelope)
    sender = next((address for _, address in addresses(message, "From")), "")
    if is_plain_bounce(message, sender=sender, envelope=envelope):
        return _plain_receipts(message)
    return ()


# --- RFC 3464 ------------------------------------------------------------------------------


def _report_receipts(message: Message, *, envelope: Envelope) -> tuple[DeliveryReceipt, ...]:
    status_part = next(
        (p for p in message.walk() if p.get_content_type() == "message/delivery-status"), None
    )
    if status_part is None:
        return ()
    provider_id = _returned_message_id(message) or _id_from_token(message, envelope)
    if not provider_id:
        return ()
    receipts = []
    for block in _recipient_blocks(status_part):
        receipt = _block_receipt(block, provider_id=provider_id)
        if receipt is not None:
            receipts.append(receipt)
    return tuple(receipts)


def _recipient_blocks(part: Message) -> list[Message]:
    """The per-recipient field blocks (the first block is about the message as a whole)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = [block for block in payload if isinstance(block, Message)]
    else:  # not split into blocks (a transfer encoding): parse the text ourselves
        data = part.get_payload(decode=True)
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(payload)
        chunks = re.split(r"\r?\n\s*\r?\n", text.strip())
        blocks = [HeaderParser(policy=TolerantPolicy()).parsestr(chunk) for chunk in chunks]
    return [block for block in blocks if block.get("Action") is not None]


def _block_receipt(block: Message, *, provider_id: str) -> DeliveryReceipt | None:
    action = header_text(block, "Action").split(";")[0].strip().lower()
    diagnostic = _diagnostic(header_text(block, "Diagnostic-Code"))
    status = _status_of(header_text(block, "Status"), diagnostic)
    recipient = _recipient(block)
    if action == "failed":
        permanent = status is None or status.klass == 5
        return DeliveryReceipt(
            provider_message_id=provider_id,
            state=ReceiptState.FAILED,
            error=_failure_text(recipient, status, diagnostic, permanent=permanent),
            permanent=permanent,
            recipient_unreachable=permanent and _address_failed(status, diagnostic),
            recipient=recipient,
        )
    if action == "delayed":
        return DeliveryReceipt(
            provider_message_id=provider_id,
            state=ReceiptState.SENT,
            error=_joined(
                "Delayed: the receiving server is still trying to deliver to "
                + (recipient or "the recipient"),
                status,
                diagnostic,
            ),
            permanent=False,
            recipient=recipient,
        )
    if action == "delivered":
        state = ReceiptState.DELIVERED
    elif action in {"relayed", "expanded"}:
        state = ReceiptState.SENT
    else:
        return None
    return DeliveryReceipt(provider_message_id=provider_id, state=state, recipient=recipient)


def _recipient(block: Message) -> str:
    """Whom the block is about: the address we sent to (Original-Recipient) if given, else the
    address the report ends at (Final-Recipient). Both are `type; address`."""
    for name in ("Original-Recipient", "Final-Recipient"):
        value = header_text(block, name)
        address = normalise_address(value.split(";", 1)[-1])
        if address:
            return address
    return ""


def _returned_message_id(message: Message) -> str:
    """The Message-ID of the message the report returns (whole or its headers)."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            original = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(original, Message):
                ids = message_ids(original, "Message-ID")
                if ids:
                    return ids[0]
        elif content_type == "text/rfc822-headers":
            data = part.get_payload(decode=True)
            text = data.decode("utf-8", "replace") if isinstance(data, bytes) else ""
            headers = BytesParser(policy=TolerantPolicy()).parsebytes(
                text.encode("utf-8"), headersonly=True
            )
            ids = message_ids(headers, "Message-ID")
            if ids:
                return ids[0]
    return ""


def _id_from_token(message: Message, envelope: Envelope) -> str:
    """Our provider id `<token>@<domain>` from the address the report came back to."""
    candidates = list(envelope.recipients) or [a for _, a in addresses(message, "To")]
    for value in candidates:
        token = reply_tag([value])
        domain = normalise_address(value).partition("@")[2]
        if token and domain:
            return f"{token}@{domain}"
    return ""


# --- plain-text bounces --------------------------------------------------------------------


def _plain_receipts(message: Message) -> tuple[DeliveryReceipt, ...]:
    text = _all_text(message)
    provider_id = _our_quoted_id(text)
    notice = _before_quote(text)
    code = _plain_code(notice)
    if not provider_id or code is None:
        return ()
    line = next(
        (ln.strip() for ln in notice[code.start(1) :].splitlines() if ln.strip()), code.group(1)
    )
    diagnostic = _diagnostic(line)
    status = _status_of("", diagnostic) or _Status(int(code.group(2)), 0, 0)
    permanent = status.klass == 5
    found = _QUOTED_RECIPIENT.search(notice)
    recipient = normalise_address(found.group(1)) if found else ""
    return (
        DeliveryReceipt(
            provider_message_id=provider_id,
            state=ReceiptState.FAILED,
            error=_failure_text(recipient, status, diagnostic, permanent=permanent),
            permanent=permanent,
            recipient_unreachable=permanent and _address_failed(status, diagnostic),
            recipient=recipient,
        ),
    )


def _all_text(message: Message) -> str:
    """Every text part and every returned message's headers, as one text."""
    chunks = []
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                chunks.append(f"\n\nMessage-ID: {inner[0].get('Message-ID', '')}\n")
        elif part.get_content_maintype() == "text":
            try:
                data = part.get_payload(decode=True)
            except Exception:  # an encoding the library cannot undo: no text from it
                data = None
            if isinstance(data, bytes):
                chunks.append(data.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(chunks)


def _our_quoted_id(text: str) -> str:
    for found in _QUOTED_MESSAGE_ID.finditer(text):
        value = found.group(1).lower()
        if _OUR_MESSAGE_ID.match(value):
            return value
    return ""


def _before_quote(text: str) -> str:
    """The server's own words: the text before it quotes our message's headers."""
    found = _QUOTED_MESSAGE_ID.search(text)
    head = text[: found.start()] if found else text
    # The quoted headers usually begin a few lines above the Message-ID (Received, From...).
    return re.split(r"^(?:received|return-path|from|to|subject|date):", head, flags=re.I | re.M)[0]


# --- the words -----------------------------------------------------------------------------


def _diagnostic(value: str) -> str:
    """A Diagnostic-Code without its type (`smtp; 550 ...`), folded lines joined."""
    text = value.split(";", 1)[1] if re.match(r"^\s*[a-z-]+\s*;", value, re.I) else value
    text = re.sub(r"\s+", " ", text).strip()
    return text[:_DIAGNOSTIC_MAX_LENGTH]


def _status_of(status_field: str, diagnostic: str) -> _Status | None:
    """The report's status; a generic one (x.0.0, as Exim reports) sharpened by the one the
    remote server gave in the diagnostic, when of the same class."""
    found = _STATUS.search(status_field)
    status = _Status(*map(int, found.groups())) if found else None
    in_diagnostic = _STATUS.search(diagnostic)
    quoted = _Status(*map(int, in_diagnostic.groups())) if in_diagnostic else None
    if status is None:
        if quoted is not None:
            return quoted
        code = _REPLY_CODE.search(diagnostic)
        return _Status(int(code.group(1)), 0, 0) if code else None
    if (status.subject, status.detail) == (0, 0) and quoted and quoted.klass == status.klass:
        return quoted
    return status


def _address_failed(status: _Status | None, diagnostic: str) -> bool:
    if status is not None and status.subject in {3, 6, 7}:
        return False  # the message's size, content or a policy: not the address
    if status is not None and (
        status.subject == 1 or (status.subject, status.detail) in _ADDRESS_STATUSES
    ):
        return True
    return bool(_NO_SUCH_USER.search(diagnostic))


def _failure_text(
    recipient: str, status: _Status | None, diagnostic: str, *, permanent: bool
) -> str:
    who = recipient or "the recipient"
    lead = (
        f"The email to {who} bounced"
        if permanent
        else f"The email to {who} could not be delivered for now"
    )
    return _joined(lead, status, diagnostic)


def _joined(lead: str, status: _Status | None, diagnostic: str) -> str:
    if diagnostic:
        return f"{lead}: {diagnostic}"
    return f"{lead} (status {status.text})" if status else lead
