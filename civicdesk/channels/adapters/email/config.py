"""Account settings for the email channel: our address, and what inbound mail may carry."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator

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
    # Outbound. The name replies are signed with ("Riverton City Hall <help@...>").
    from_name: str = ""
    # The SMTP server replies leave through; "" writes each message as a .eml file to
    # `outbox_dir` instead (the default on one machine: outbound mail visible under var/).
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # starttls: plain connection upgraded (port 587); tls: TLS from the start (SMTPS, 465);
    # none: no encryption (a relay on the same machine only).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    # A CA bundle to trust besides the system's (a private relay's own certificate).
    smtp_ca_file: str = ""
    # Where the file sink writes; "" = <CIVICDESK_VAR_DIR>/mail-outbox.
    outbox_dir: str = ""

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

    @property
    def domain(self) -> str:
        return self.address.partition("@")[2] or "localhost"

    def identities(self) -> tuple[str, ...]:
        """Every address of this mailbox."""
        return tuple(value for value in (self.address, *self.aliases) if value)
