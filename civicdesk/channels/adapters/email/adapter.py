"""The email channel: citizens' mail in (the SMTP listener, `civicdesk smtpd`, and IMAP
polling of a mailbox, `imap_polling`), replies out.

Inbound payloads are messages exactly as received (`message/rfc822`), with the envelope and the
account's attachment limits beside them (see `envelope`); `reading.read_email` turns them into
an InboundMessage. A reply leaves as a threaded email (`composing`) through the account's SMTP
server, or into the outbox folder when none is configured (`sending`); its provider id is its
Message-ID, by which the citizen's answer finds the case again.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email.errors import MessageError

from civicdesk.channels.adapters.email.bounces import may_be_bounce, read_bounce
from civicdesk.channels.adapters.email.composing import compose, new_token, reply_address
from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.adapters.email.connection_checks import smtp_connection_checks
from civicdesk.channels.adapters.email.envelope import AttachmentLimits, Envelope
from civicdesk.channels.adapters.email.imap_checks import imap_connection_checks
from civicdesk.channels.adapters.email.imap_polling import over_limit_reason, poll_mailbox
from civicdesk.channels.adapters.email.listener import SmtpListener
from civicdesk.channels.adapters.email.reading import (
    parse_bytes,
    parse_head,
    provider_id,
    read_email,
    read_head,
    sketch_email,
    thread_key_prefix,
)
from civicdesk.channels.adapters.email.sending import send_over_smtp, write_to_outbox
from civicdesk.channels.contracts import (
    ChannelAdapter,
    ConnectionCheck,
    DeliveryOutcome,
    DeliveryReceipt,
    DeliveryResult,
    InboundMessage,
    InboundSketch,
    InvalidPayload,
    Listener,
    ListenerIntake,
    OutgoingMessage,
    PollIntake,
    RawPayload,
    SenderContact,
)


class EmailAdapter(ChannelAdapter):
    kind = "email"
    label = "Email"
    config_schema = EmailConfig
    recipient_kinds = ("email",)
    receives_webhooks = False  # mail arrives over SMTP (the listener) or IMAP (polling)
    # Accounts with an IMAP server are polled (besides the SMTP listener, or instead of it).
    polls = True
    # Message-ID and a digest of what the sender wrote (reading.provider_id): the same mail
    # copied to two of our addresses, or fetched over IMAP and SMTP, carries one id.
    provider_ids_name_the_message = True

    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        reason = over_limit_reason(payload)
        if reason is not None:  # the headers of a message left on the server
            raise InvalidPayload(reason)
        return read_email(
            payload.body,
            channel=self.kind,
            envelope=Envelope.from_headers(payload.headers),
            attachment_limits=AttachmentLimits.from_headers(payload.headers),
        )

    def sketch(self, payload: RawPayload) -> InboundSketch | None:
        """The provider id and the sender from the headers alone (see `reading.sketch_email`):
        the listener's 250 and a poll's store wait on this, not on the full read. None for the
        headers of a message over the size limit: the full read says why it is kept, under an
        id of its own."""
        if over_limit_reason(payload) is not None:
            return None
        found = sketch_email(payload.body, envelope=Envelope.from_headers(payload.headers))
        if found is None:
            return None
        message_id, sender = found
        if not sender:  # a delivery status report: receipts only (see `parse_receipt`)
            return InboundSketch(provider_message_id=message_id, carries_message=False)
        return InboundSketch(
            provider_message_id=message_id,
            sender=(SenderContact(kind="email", value=sender),),
        )

    def parse_receipt(self, payload: RawPayload) -> tuple[DeliveryReceipt, ...]:
        """A bounce's receipts (see `bounces`); () for any other mail, whose headers alone
        say so (the framework asks of every stored email: the full parse is for bounces)."""
        if over_limit_reason(payload) is not None:
            return ()
        envelope = Envelope.from_headers(payload.headers)
        try:
            if not may_be_bounce(parse_head(payload.body), envelope=envelope):
                return ()
            message = parse_bytes(payload.body)
        except Exception:  # bytes the parser cannot take are no bounce (parse_inbound says why)
            return ()
        return read_bounce(message, envelope=envelope)

    def unread_payload_id(self, payload: RawPayload) -> str | None:
        # The headers suffice (the same ones the full read's provider id reads).
        known = provider_id(read_head(payload.body), payload.body)
        # Never the id of the whole message, imported once the limit is raised.
        return f"over-limit:{known}" if over_limit_reason(payload) is not None else known

    def polls_account(self, config: EmailConfig) -> bool:
        return config.polls_imap

    def poll_into(self, config: EmailConfig, cursor: str, intake: PollIntake) -> None:
        poll_mailbox(config, cursor, intake)

    def own_identities(self, config: EmailConfig) -> tuple[str, ...]:
        return config.identities()

    def provider_id_prefix(self, message_id: str) -> str:
        return thread_key_prefix(message_id)

    def check_connection(self, config: EmailConfig) -> tuple[ConnectionCheck, ...]:
        """Sending (SMTP or the outbox folder), then, for an account that polls a mailbox,
        the mailbox (IMAP), each side stopping at its first failing step; the steps are named
        by their side when there are both."""
        sending = smtp_connection_checks(config)
        if not config.polls_imap:
            return sending
        return (
            *(replace(check, step=f"Sending, {check.step.lower()}") for check in sending),
            *(
                replace(check, step=f"Mailbox, {check.step.lower()}")
                for check in imap_connection_checks(config)
            ),
        )

    def listener(self, *, host: str, port: int, intake: ListenerIntake) -> Listener:
        return SmtpListener(host=host, port=port, intake=intake)

    def send(self, message: OutgoingMessage, config: EmailConfig) -> DeliveryResult:
        if not config.address:
            return DeliveryResult.permanent_failure("the email account has no address to send from")
        token = new_token(message.thread_reference)
        at = datetime.now(UTC)
        try:
            email = compose(message, config, token=token, at=at)
            email.as_bytes()  # what cannot be written fails here, not in the SMTP transaction
        except (ValueError, UnicodeError, MessageError) as exc:
            # The same message would fail the same way every time: not worth a retry.
            return DeliveryResult.permanent_failure(f"the reply cannot be written as email: {exc}")
        provider_id = f"{token}@{config.domain}"
        if not config.smtp_host:
            write_to_outbox(email, config=config, name=f"{at:%Y%m%dT%H%M%S}-{token}")
            return DeliveryResult.sent(provider_message_id=provider_id)
        recipients = list(dict.fromkeys([message.recipient, *message.copy_to]))
        # The envelope sender is the reply address: a bounce comes back to it, and its token
        # names the message even when the report does not return our headers.
        result = send_over_smtp(
            email,
            config=config,
            recipients=recipients,
            envelope_sender=reply_address(config, token),
        )
        if result.outcome is DeliveryOutcome.SENT:
            return DeliveryResult.sent(provider_message_id=provider_id)
        return result
