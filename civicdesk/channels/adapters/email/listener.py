"""The SMTP listener: mail delivered to our addresses, stored before it is accepted.

An aiosmtpd server. `RCPT TO` is accepted only for an address of an email account (with or
without a reply tag, `help+tag@...`); anything else is refused (550) so that we are never an
open relay. After `DATA` the message is handed to the framework's intake, which stores it
durably; only then does the sender get `250`. A store that fails answers `451` (temporary), so
the sending server keeps the message and tries again later; a message over the account's size
limit is refused with `552` before anything is stored. One message to several of our
addresses is stored once, for the first account named.

The intake talks to the database, so it is called in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.adapters.email.envelope import CONTENT_TYPE, AttachmentLimits, Envelope
from civicdesk.channels.adapters.email.headers import normalise_address
from civicdesk.channels.contracts import ListenerAccount, ListenerIntake, RawPayload

logger = logging.getLogger(__name__)

# The largest message the server reads at all (it says so in EHLO: SIZE); each account may
# set a smaller limit of its own.
SERVER_MAX_BYTES = 50 * 1024 * 1024


def mailbox_of(address: str) -> str:
    """`Help+Tag@Riverton.example` -> `help@riverton.example` ("" when not an address)."""
    value = normalise_address(address)
    local, _, domain = value.partition("@")
    return f"{local.split('+', 1)[0]}@{domain}" if value else ""


class _Handler:
    def __init__(self, intake: ListenerIntake) -> None:
        self.intake = intake

    async def _call(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTP,
        session: Session,
        envelope: SmtpEnvelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        mailbox = mailbox_of(address)
        try:
            account = await self._call(self.intake.account_for, mailbox) if mailbox else None
        except Exception:
            logger.exception("Could not look up the account for %s", address)
            return "451 4.3.0 Temporary failure looking up the mailbox; try again later"
        if account is None:
            return "550 5.1.1 No such mailbox here"
        accounts = getattr(envelope, "civicdesk_accounts", [])
        accounts.append(account)
        envelope.civicdesk_accounts = accounts  # type: ignore[attr-defined]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: SmtpEnvelope
    ) -> str:
        accounts: list[ListenerAccount] = getattr(envelope, "civicdesk_accounts", [])
        if not accounts:
            return "554 5.5.1 No valid recipients"
        account = accounts[0]
        config: EmailConfig = account.config
        data = envelope.original_content or b""
        if len(data) > config.max_message_bytes:
            return (
                f"552 5.3.4 Message too big for this mailbox (limit {config.max_message_bytes} "
                "bytes)"
            )
        mail_from = envelope.mail_from or ""
        headers = {
            **Envelope(
                sender="" if mail_from in ("", "<>") else mail_from.lower(),
                recipients=tuple(address.lower() for address in envelope.rcpt_tos),
            ).to_headers(),
            **AttachmentLimits.of(config).to_headers(),
        }
        raw = RawPayload(body=bytes(data), content_type=CONTENT_TYPE, headers=headers)
        try:
            verdict = await self._call(self.intake.accept, raw, account)
        except Exception:
            logger.exception("Could not store a message for account %s", account.account_id)
            return "451 4.3.0 Could not store the message; try again later"
        if not verdict.stored:
            return f"451 4.3.0 Could not store the message ({verdict.reason}); try again later"
        return "250 2.0.0 Message accepted" + (" (already received)" if verdict.duplicate else "")


class SmtpListener:
    """An SMTP server on host:port in a thread of its own (`start`, `stop`)."""

    def __init__(self, *, host: str, port: int, intake: ListenerIntake) -> None:
        self.host = host
        self.port = port
        self.controller = Controller(
            _Handler(intake),
            hostname=host,
            port=port,
            ready_timeout=10.0,
            data_size_limit=SERVER_MAX_BYTES,
            server_hostname="civicdesk",
            ident="CivicDesk ESMTP",
        )

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
