"""Account settings for the email channel: our address, and what inbound mail may carry."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

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


def is_loopback(host: str) -> bool:
    return host.strip().lower() in ("localhost", "::1") or host.strip().startswith("127.")


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
    # Inbound by IMAP polling (besides or instead of the SMTP listener): "" = not polled.
    imap_host: str = ""
    # 0 = the standard port of `imap_security` (993 for tls, 143 otherwise).
    imap_port: int = Field(default=0, ge=0, le=65535)
    # tls: IMAPS, TLS from the start (993); starttls: plain connection upgraded (143); none:
    # no encryption, allowed only for a server on this machine (127.0.0.1, ::1, localhost).
    imap_security: Literal["tls", "starttls", "none"] = "tls"
    imap_username: str = ""
    # Sign-in: a password, or an OAuth2 access token (XOAUTH2) when the provider wants one;
    # the token wins when both are set.
    imap_password: SecretStr | None = None
    imap_oauth2_token: SecretStr | None = None
    imap_folder: str = "INBOX"
    # After a message is stored: seen = mark it read (\Seen); move = move it to
    # `imap_processed_folder`; leave = touch nothing (only the UID cursor remembers it).
    imap_after_import: Literal["seen", "move", "leave"] = "seen"
    imap_processed_folder: str = ""
    # Messages fetched per round trip (and per checkpoint of the catch-up).
    imap_batch_size: int = Field(default=100, ge=1, le=1000)
    # A CA bundle to trust besides the system's (a server with a private certificate).
    imap_ca_file: str = ""
    imap_timeout_seconds: float = Field(default=30.0, gt=0, le=300)

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

    @model_validator(mode="after")
    def _imap_complete(self) -> EmailConfig:
        if not self.imap_host:
            return self
        if not self.imap_username:
            raise ValueError("IMAP needs a username to sign in with")
        if self.imap_password is None and self.imap_oauth2_token is None:
            raise ValueError("IMAP needs a password or an OAuth2 token to sign in with")
        if self.imap_after_import == "move" and not self.imap_processed_folder.strip():
            raise ValueError("moving imported mail needs the folder to move it to")
        if self.imap_security == "none" and not is_loopback(self.imap_host):
            raise ValueError(
                "IMAP without encryption is allowed only for a server on this machine; "
                "choose tls or starttls"
            )
        return self

    @property
    def polls_imap(self) -> bool:
        return bool(self.imap_host)

    @property
    def imap_port_or_default(self) -> int:
        return self.imap_port or (993 if self.imap_security == "tls" else 143)

    @property
    def domain(self) -> str:
        return self.address.partition("@")[2] or "localhost"

    def identities(self) -> tuple[str, ...]:
        """Every address of this mailbox."""
        return tuple(value for value in (self.address, *self.aliases) if value)
