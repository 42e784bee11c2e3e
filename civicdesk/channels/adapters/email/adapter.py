"""The email channel: citizens' mail in (the SMTP listener, `civicdesk smtpd`), replies out.

Inbound payloads are messages exactly as received (`message/rfc822`), with the envelope and the
account's attachment limits beside them (see `envelope`); `reading.read_email` turns them into
an InboundMessage. Sending is not built yet: a reply in this channel fails permanently, with a
reason, so that the framework falls back to the citizen's next channel.
"""

from __future__ import annotations

from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.adapters.email.envelope import AttachmentLimits, Envelope
from civicdesk.channels.adapters.email.listener import SmtpListener
from civicdesk.channels.adapters.email.reading import read_email, thread_key_prefix
from civicdesk.channels.contracts import (
    ChannelAdapter,
    DeliveryResult,
    InboundMessage,
    Listener,
    ListenerIntake,
    OutgoingMessage,
    RawPayload,
)


class EmailAdapter(ChannelAdapter):
    kind = "email"
    label = "Email"
    config_schema = EmailConfig
    recipient_kinds = ("email",)
    # Receiving comes first; until sending is built no reply is routed through email.
    can_send = False

    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        return read_email(
            payload.body,
            channel=self.kind,
            envelope=Envelope.from_headers(payload.headers),
            attachment_limits=AttachmentLimits.from_headers(payload.headers),
        )

    def own_identities(self, config: EmailConfig) -> tuple[str, ...]:
        return config.identities()

    def provider_id_prefix(self, message_id: str) -> str:
        return thread_key_prefix(message_id)

    def listener(self, *, host: str, port: int, intake: ListenerIntake) -> Listener:
        return SmtpListener(host=host, port=port, intake=intake)

    def send(self, message: OutgoingMessage, config: EmailConfig) -> DeliveryResult:
        return DeliveryResult.permanent_failure("Sending email is not configured yet.")
