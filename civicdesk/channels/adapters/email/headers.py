"""Reading headers that may be malformed: text, addresses and message ids, never an exception.

The standard library's `policy.default` decodes RFC 2047 encoded words and RFC 2231
parameters and records what it could not parse as defects; what it cannot read at all is read
again, leniently, from the raw value. Addresses come back lower-cased and checked enough to be
a contact point (one `@`, a dotted domain, no spaces).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import Message
from email.policy import EmailPolicy
from email.utils import getaddresses

from civicdesk.channels.adapters.email.charsets import clean_text, decode_text
from civicdesk.core import limits

logger = logging.getLogger(__name__)
_FOLDING = re.compile(r"\s*[\r\n]+\s*")
_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)+$")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_BARE_ID = re.compile(r"^[^<>\s]+@[^<>\s]+$")
_REPLY_TAG = re.compile(r"^[a-z0-9][a-z0-9.-]{2,80}$")
# The longest message id kept whole; longer ones are shortened by the reader (hashing).
MESSAGE_ID_MAX_LENGTH = 180


# Headers kept as they are written, without structure: what a header falls back to when the
# standard library cannot parse it.
_AS_WRITTEN = HeaderRegistry(default_class=UnstructuredHeader, use_default_map=False)


class TolerantPolicy(EmailPolicy):
    """`policy.default`, except that a header the standard library's parser fails on is kept
    as plain text instead of raising.

    The RFC 5322 header parser has crashes of its own on malformed input: in Python 3.11,
    `Content-Type: application/pdf; name*` (a parameter cut after its RFC 2231 star, as a
    truncated message ends) raises IndexError, and it is raised while the message is being
    split into parts, so nothing of the message could be read. As text, the header still
    names its type (`get_content_type` reads the text before the first `;`).
    """

    def header_fetch_parse(self, name: str, value: str) -> BaseHeader:
        try:
            header: BaseHeader = super().header_fetch_parse(name, value)
        except Exception:  # the parser's own bug (IndexError, ValueError...) on odd input
            return _AS_WRITTEN(name, "".join(str(value).splitlines()))
        return header


def header_text(message: Message, name: str) -> str:
    """The header's text (encoded words decoded, folding undone), "" when absent/unreadable."""
    try:
        value = message.get(name)
    except Exception:  # a value the policy cannot parse: read the raw one below
        value = None
        raw = _raw_value(message, name)
        if raw is None:
            return ""
        value = raw
    if value is None:
        return ""
    text = str(value)
    if any("\udc80" <= char <= "\udcff" for char in text):
        text = decode_text(text.encode("utf-8", "surrogateescape"), None).text
    if "\ufffd" in text:
        # An encoded word that does not decode (bad base64, a wrong charset): its raw form
        # says more than replacement marks.
        raw = _raw_value(message, name)
        if raw is not None and "=?" in raw:
            text = raw
    return clean_text(_FOLDING.sub(" ", text)).strip()


def _raw_value(message: Message, name: str) -> str | None:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def addresses(message: Message, *names: str) -> list[tuple[str, str]]:
    """(display name, address) of every valid address in the named headers, in order, once."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name in names:
        for display, address in _header_addresses(message, name):
            cleaned = normalise_address(address)
            if cleaned and cleaned not in seen:
                seen.add(cleaned)
                found.append((clean_text(display).strip()[: limits.NAME_MAX_LENGTH], cleaned))
    return found


def _header_addresses(message: Message, name: str) -> list[tuple[str, str]]:
    try:
        values = message.get_all(name) or []
        pairs = [
            (address.display_name, address.addr_spec)
            for value in values
            for address in getattr(value, "addresses", ())
        ]
        if pairs or not values:
            return pairs
    except Exception:  # an address list the policy cannot parse: read it leniently below
        logger.debug("unreadable %s header; read leniently", name)
    raw = [str(value) for key, value in message.raw_items() if key.lower() == name.lower()]
    return getaddresses(raw)


def normalise_address(address: str) -> str:
    """The address lower-cased, or "" when it cannot be a mailbox."""
    value = clean_text(address).strip().strip("<>").lower()
    if len(value) > limits.EMAIL_MAX_LENGTH or not _ADDRESS.match(value):
        return ""
    return value


def message_ids(message: Message, name: str) -> list[str]:
    """The message ids (without brackets) a header names, in order; junk between is skipped."""
    text = header_text(message, name)
    found = _MESSAGE_ID.findall(text)
    if not found and _BARE_ID.match(text):
        found = [text]
    return [value for value in found if "@" in value]


def reply_tag(values: Iterable[str]) -> str:
    """The tag of the first sub-address among `values` (`help+<tag>@...`): the token our reply
    addresses carry; "" when none has one."""
    for value in values:
        local = normalise_address(value).partition("@")[0]
        if "+" in local:
            tag = local.split("+", 1)[1]
            if _REPLY_TAG.match(tag):
                return tag
    return ""
