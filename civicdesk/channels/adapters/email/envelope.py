"""What travels beside the message bytes: the SMTP envelope, and the account's limits.

An email's stored payload is its bytes exactly as received; what the listener knew besides
(the envelope's `MAIL FROM` and `RCPT TO`, and the attachment limits of the account at that
moment) travels in the payload's headers, so that a replay reads the message as it was read
when it arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase

from civicdesk.channels.adapters.email.config import EmailConfig

CONTENT_TYPE = "message/rfc822"
ENVELOPE_FROM = "x-civicdesk-envelope-from"
ENVELOPE_TO = "x-civicdesk-envelope-to"
MAX_ATTACHMENT_BYTES = "x-civicdesk-max-attachment-bytes"
ATTACHMENT_TYPES = "x-civicdesk-attachment-types"


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(key).lower(): str(value) for key, value in headers.items()}


@dataclass(frozen=True)
class Envelope:
    # The SMTP `MAIL FROM` ("" for the null sender); None when the mail did not come by SMTP.
    sender: str | None = None
    recipients: tuple[str, ...] = ()

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Envelope:
        values = _lower_keys(headers)
        recipients = tuple(
            value.strip().lower() for value in values.get(ENVELOPE_TO, "").split(",") if value
        )
        sender = values.get(ENVELOPE_FROM)
        return cls(sender=None if sender is None else sender.strip().lower(), recipients=recipients)

    def to_headers(self) -> dict[str, str]:
        headers = {ENVELOPE_TO: ",".join(self.recipients)}
        if self.sender is not None:
            headers[ENVELOPE_FROM] = self.sender
        return headers


@dataclass(frozen=True)
class AttachmentLimits:
    max_bytes: int
    types: tuple[str, ...]

    @classmethod
    def of(cls, config: EmailConfig) -> AttachmentLimits:
        return cls(max_bytes=config.max_attachment_bytes, types=config.attachment_types)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> AttachmentLimits:
        default = cls.of(EmailConfig())
        values = _lower_keys(headers)
        try:
            max_bytes = int(values[MAX_ATTACHMENT_BYTES])
        except (KeyError, ValueError):
            max_bytes = default.max_bytes
        types = values.get(ATTACHMENT_TYPES)
        return cls(
            max_bytes=max_bytes,
            types=default.types if types is None else tuple(t for t in types.split(",") if t),
        )

    def to_headers(self) -> dict[str, str]:
        return {MAX_ATTACHMENT_BYTES: str(self.max_bytes), ATTACHMENT_TYPES: ",".join(self.types)}

    def allows_type(self, content_type: str) -> bool:
        return any(fnmatchcase(content_type.lower(), pattern.lower()) for pattern in self.types)
