"""Acme SMS: signed JSON webhooks carrying a message and/or delivery statuses; sending over
Acme's REST API.

Webhook: POST JSON `{"message": {...} | null, "statuses": [...]}` with headers
`X-Acme-Timestamp` (Unix seconds) and `X-Acme-Signature` (hex HMAC-SHA256 of
"<timestamp>." + body, keyed with the account's webhook secret). URL check: GET
`?challenge=<text>&verify_token=<token>` must echo the challenge.
Send: POST /v1/messages, Bearer key, Idempotency-Key → 202 `{"id": ..., "status": "queued"}`;
errors `{"error": {"code": ..., "message": ...}}`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from civicdesk.channels.contracts import (
    ChannelAdapter,
    DeliveryReceipt,
    DeliveryResult,
    InboundMessage,
    InvalidPayload,
    NoMessage,
    OutgoingMessage,
    RawPayload,
    ReceiptState,
    SenderContact,
    SignatureMismatch,
    WebhookResponse,
    check_fresh,
    json_object,
    text_field,
)
from civicdesk.channels.http import ProviderClient
from civicdesk.channels.tests.sms_acme.config import AcmeSmsConfig
from civicdesk.core.clock import now

_STATES = {
    "queued": ReceiptState.QUEUED,
    "sent": ReceiptState.SENT,
    "delivered": ReceiptState.DELIVERED,
    "read": ReceiptState.READ,
    "failed": ReceiptState.FAILED,
    "undelivered": ReceiptState.FAILED,
}


def sign(body: bytes, *, secret: str, timestamp: int) -> str:
    """Acme's signature (the fake provider and the tests sign with it too)."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _header(payload: RawPayload, name: str) -> str:
    wanted = name.lower()
    return next((v for k, v in payload.headers.items() if k.lower() == wanted), "")


class AcmeSmsAdapter(ChannelAdapter):
    kind = "sms_acme"
    label = "SMS (Acme)"
    config_schema = AcmeSmsConfig
    recipient_kinds = ("phone",)
    threads_by_sender = True

    def verify(self, payload: RawPayload, config: AcmeSmsConfig) -> None:
        if config.webhook_secret is None:
            raise SignatureMismatch("the account has no webhook secret")
        timestamp = _header(payload, "X-Acme-Timestamp")
        signature = _header(payload, "X-Acme-Signature")
        if not timestamp.isdigit() or not signature:
            raise SignatureMismatch("missing Acme signature headers")
        expected = sign(
            payload.body, secret=config.webhook_secret.get_secret_value(), timestamp=int(timestamp)
        )
        if not hmac.compare_digest(expected, signature):
            raise SignatureMismatch("the Acme signature does not match")
        check_fresh(datetime.fromtimestamp(int(timestamp), tz=UTC), now=now())

    def replay_key(self, payload: RawPayload) -> str:
        return _header(payload, "X-Acme-Signature")

    def handshake(self, query: Mapping[str, str], config: AcmeSmsConfig) -> WebhookResponse | None:
        token = config.verify_token.get_secret_value() if config.verify_token else ""
        given = query.get("verify_token", "")
        if not token or not hmac.compare_digest(token, given):
            return WebhookResponse(status=403, body=b"verify token mismatch")
        return WebhookResponse(status=200, body=query.get("challenge", "").encode())

    def acknowledge(self, payload: RawPayload, config: AcmeSmsConfig) -> WebhookResponse:
        return WebhookResponse(status=200, body=b'{"ok": true}', content_type="application/json")

    def own_identities(self, config: AcmeSmsConfig) -> tuple[str, ...]:
        return (config.from_number,) if config.from_number else ()

    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        data = json_object(payload)
        message = data.get("message")
        if message is None:
            raise NoMessage("the webhook carries statuses only")
        if not isinstance(message, dict):
            raise InvalidPayload("'message' must be an object")
        return InboundMessage(
            channel=self.kind,
            provider_message_id=text_field(message, "id", required=True, limit=64),
            body=text_field(message, "text", required=True, limit=1600),
            sender=(SenderContact(kind="phone", value=text_field(message, "from", required=True)),),
            recipient=text_field(message, "to", limit=32),
            is_automated=message.get("auto") is True,
        )

    def parse_receipt(self, payload: RawPayload) -> tuple[DeliveryReceipt, ...]:
        statuses = json_object(payload).get("statuses") or []
        if not isinstance(statuses, list):
            raise InvalidPayload("'statuses' must be a list")
        receipts = []
        for item in statuses:
            if not isinstance(item, dict) or item.get("status") not in _STATES:
                raise InvalidPayload(f"unknown Acme status {item!r}")
            error = item.get("error") or {}
            receipts.append(
                DeliveryReceipt(
                    provider_message_id=text_field(item, "id", required=True, limit=64),
                    state=_STATES[item["status"]],
                    at=_timestamp(item),
                    error=str(error.get("message", "")) if isinstance(error, dict) else "",
                    permanent=not (isinstance(error, dict) and error.get("retryable") is True),
                )
            )
        return tuple(receipts)

    def send(self, message: OutgoingMessage, config: AcmeSmsConfig) -> DeliveryResult:
        if config.api_key is None:
            return DeliveryResult.permanent_failure("the Acme account has no API key")
        body: dict[str, Any] = {"from": config.from_number, "to": message.recipient}
        body["text"] = message.body
        body["media"] = [
            {
                "filename": item.filename,
                "content_type": item.content_type,
                "data_b64": base64.b64encode(item.content).decode(),
            }
            for item in message.attachments
        ]
        headers = {"Authorization": f"Bearer {config.api_key.get_secret_value()}"}
        if message.idempotency_key:
            headers["Idempotency-Key"] = message.idempotency_key
        with ProviderClient(provider="Acme", base_url=config.base_url) as client:
            return client.send(
                "POST",
                "/v1/messages",
                json=body,
                headers=headers,
                idempotent=bool(message.idempotency_key),
                on_success=_message_id,
            )


def _timestamp(item: Mapping[str, Any]) -> datetime | None:
    """The receipt's time: ISO 8601 with a UTC offset. Anything else is InvalidPayload (never a
    ValueError, which would fail the webhook after it was stored), and a time without an offset
    is refused rather than guessed."""
    value = text_field(item, "timestamp", limit=64)
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidPayload(f"'timestamp' {value!r} is not an ISO 8601 time") from None
    if at.utcoffset() is None:
        raise InvalidPayload(f"'timestamp' {value!r} has no UTC offset")
    return at


def _message_id(response: httpx.Response) -> str:
    return str(response.json()["id"])
