"""A development channel: inbound from the command line, outbound printed to the terminal."""

from __future__ import annotations

import sys
import uuid
from typing import TextIO

from civicdesk.channels.adapters.console.config import ConsoleConfig
from civicdesk.channels.contracts import (
    ChannelAdapter,
    DeliveryResult,
    InboundMessage,
    OutgoingMessage,
    RawPayload,
    SenderContact,
    json_object,
    text_field,
)
from civicdesk.core import limits

CONTACT_KINDS = ("email", "phone")


class ConsoleAdapter(ChannelAdapter):
    kind = "console"
    rate_limited = False
    acknowledges_by_message = False  # staff type it in; the console shows the reference
    label = "Console (development)"
    config_schema = ConsoleConfig
    recipient_kinds = CONTACT_KINDS
    threads_by_sender = True
    # Where outbound messages are printed; tests point it at a buffer.
    stream: TextIO | None = None

    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        data = json_object(payload)
        sender_value = text_field(data, "from", required=True, limit=limits.EMAIL_MAX_LENGTH)
        kind = "email" if "@" in sender_value else "phone"
        return InboundMessage(
            channel=self.kind,
            provider_message_id=text_field(data, "id", limit=limits.PROVIDER_ID_MAX_LENGTH) or None,
            body=text_field(data, "text", required=True, limit=limits.MESSAGE_BODY_MAX_LENGTH),
            sender=(SenderContact(kind=kind, value=sender_value),),
            sender_name=text_field(data, "name", limit=limits.NAME_MAX_LENGTH),
            subject=text_field(data, "subject", limit=limits.SUBJECT_MAX_LENGTH),
            case_reference=text_field(data, "case_reference", limit=40),
        )

    def send(self, message: OutgoingMessage, config: ConsoleConfig) -> DeliveryResult:
        stream = self.stream or sys.stdout
        ruler = "-" * 72
        stream.write(
            f"{ruler}\nTo: {message.recipient}\nSubject: {message.subject}\n"
            f"Reference: {message.thread_reference}\n\n{message.body}\n{ruler}\n"
        )
        stream.flush()
        return DeliveryResult.sent(provider_message_id=f"console-{uuid.uuid4().hex[:12]}")
