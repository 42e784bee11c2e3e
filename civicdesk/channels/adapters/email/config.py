"""Account settings for the email channel: our address, and what inbound mail may carry."""

from __future__ import annotations

from pydantic import Field, field_validator

from civicdesk.channels.config import AccountConfig

MEBIBYTE = 1024 * 1024

# Files a citizen may reasonably send a public body: documents, pictures, plain text, mail.
DEFAULT_ATTACHMENT_TYPES = (
    "image/*",
    "application/pdf",
    "text/plain",
    "text/csv",
    "text/calendar",
    "message/rfc822",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.*",
    "application/vnd.oasis.opendocument.*",
    "application/vnd.ms-excel",
    "application/rtf",
    "application/zip",
    "audio/*",
    "video/*",
)


class EmailConfig(AccountConfig):
    """One mailbox: `address` receives citizens' mail (and replies leave from it)."""

    address: str = ""
    # Other addresses that deliver to the same mailbox (help@, info@, ...).
    aliases: tuple[str, ...] = ()
    # The listener refuses a larger message (SMTP 552) before anything is stored.
    max_message_bytes: int = Field(default=25 * MEBIBYTE, ge=1024)
    # Attachments over this size, or of another type, are left out of the message (it is
    # kept whole with the stored payload, and the case says what was left out).
    max_attachment_bytes: int = Field(default=10 * MEBIBYTE, ge=0)
    attachment_types: tuple[str, ...] = DEFAULT_ATTACHMENT_TYPES

    @field_validator("address")
    @classmethod
    def _lower_address(cls, value: str) -> str:
        value = value.strip().lower()
        if value and value.count("@") != 1:
            raise ValueError("an email address has one @")
        return value

    @field_validator("aliases")
    @classmethod
    def _lower_aliases(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(value.strip().lower() for value in values if value.strip())

    def identities(self) -> tuple[str, ...]:
        """Every address of this mailbox."""
        return tuple(value for value in (self.address, *self.aliases) if value)
