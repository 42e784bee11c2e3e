"""The citizen portal as a channel: request forms and replies on the private status page.

Inbound payloads are the JSON the portal views write from a validated form. A reply "sent" in
this channel is published on the citizen's status page, so delivery needs no address.
"""

from __future__ import annotations

import re

from civicdesk.channels.adapters.portal.config import PortalConfig
from civicdesk.channels.contracts import (
    ChannelAdapter,
    DeliveryResult,
    InboundMessage,
    InvalidPayload,
    OutgoingMessage,
    RawPayload,
    SenderContact,
    attachments_field,
    json_object,
    text_field,
)
from civicdesk.core import limits

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class PortalAdapter(ChannelAdapter):
    kind = "portal"
    rate_limited = False
    acknowledges_by_message = False  # the HTTP answer carries the reference
    label = "Web portal"
    config_schema = PortalConfig
    needs_recipient = False

    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        data = json_object(payload)
        submission_id = text_field(data, "submission_id", required=True, limit=64)
        answers = data.get("answers") or {}
        if not isinstance(answers, dict):
            raise InvalidPayload("'answers' must be an object")
        sender = tuple(
            SenderContact(kind=kind, value=text_field(data, kind, limit=limits.EMAIL_MAX_LENGTH))
            for kind in ("email", "phone")
            if data.get(kind)
        )
        token_digest = text_field(data, "status_token_digest", required=True, limit=64)
        if not _DIGEST.match(token_digest):
            raise InvalidPayload("'status_token_digest' must be a SHA-256 hex digest")
        service_code = text_field(data, "service_code", limit=limits.SERVICE_CODE_MAX_LENGTH)
        return InboundMessage(
            channel=self.kind,
            provider_message_id=f"portal-{submission_id}",
            body=text_field(data, "description", limit=limits.MESSAGE_BODY_MAX_LENGTH),
            sender=sender,
            sender_name=text_field(data, "name", limit=limits.NAME_MAX_LENGTH),
            subject=text_field(data, "subject", limit=limits.SUBJECT_MAX_LENGTH),
            language=text_field(data, "language", limit=10),
            # With a service this is a new request and the digest is its new link's; without,
            # the digest names the case whose link the citizen replied from.
            reply_token_digest="" if service_code else token_digest,
            new_case_token_digest=token_digest if service_code else "",
            service_code=service_code,
            answers=answers,
            attachments=attachments_field(data),
        )

    def send(self, message: OutgoingMessage, config: PortalConfig) -> DeliveryResult:
        # The reply is part of the case's public timeline, which the status page shows.
        return DeliveryResult.sent(provider_message_id=f"portal:{message.thread_reference}")
