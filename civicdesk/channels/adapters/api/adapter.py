"""The generic API channel: contacts posted by integrations and staff tools over REST.

Replies in this channel are read back by the integration through the API, so sending records
them as delivered.
"""

from __future__ import annotations

from civicdesk.channels.adapters.api.config import ApiConfig
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


class ApiAdapter(ChannelAdapter):
    kind = "api"
    rate_limited = False
    acknowledges_by_message = False  # the HTTP answer carries the reference
    label = "API"
    config_schema = ApiConfig
    needs_recipient = False
    senders_are_authenticated = True

    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        data = json_object(payload)
        citizen = data.get("citizen") or {}
        if not isinstance(citizen, dict):
            raise InvalidPayload("'citizen' must be an object")
        sender = tuple(
            SenderContact(kind=kind, value=text_field(citizen, kind, limit=limits.EMAIL_MAX_LENGTH))
            for kind in ("email", "phone")
            if citizen.get(kind)
        )
        answers = data.get("answers") or {}
        if not isinstance(answers, dict):
            raise InvalidPayload("'answers' must be an object")
        external_id = text_field(data, "external_id", limit=limits.PROVIDER_ID_MAX_LENGTH)
        return InboundMessage(
            channel=self.kind,
            provider_message_id=external_id or None,
            body=text_field(data, "body", required=True, limit=limits.MESSAGE_BODY_MAX_LENGTH),
            sender=sender,
            sender_name=text_field(citizen, "name", limit=limits.NAME_MAX_LENGTH),
            subject=text_field(data, "subject", limit=limits.SUBJECT_MAX_LENGTH),
            language=text_field(data, "language", limit=10),
            case_reference=text_field(data, "case_reference", limit=40),
            service_code=text_field(data, "service_code", limit=limits.SERVICE_CODE_MAX_LENGTH),
            answers=answers,
            attachments=attachments_field(data),
        )

    def send(self, message: OutgoingMessage, config: ApiConfig) -> DeliveryResult:
        return DeliveryResult.sent(provider_message_id=f"api:{message.thread_reference}")
