"""The contract between the channels framework and each channel adapter.

Adapters translate between a provider's wire format and these plain values. They never touch
the database and know nothing about citizens or cases: the framework stores, deduplicates,
retries and guards; the inbound handler (cases) decides what a message means.
"""

from __future__ import annotations

import base64
import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from civicdesk.core.limits import NAME_MAX_LENGTH


class InvalidPayload(ValueError):
    """The payload cannot be understood; the message says why, for the sender and the admin."""


class SignatureMismatch(InvalidPayload):
    """The payload was not signed by the provider it claims to come from."""


@dataclass(frozen=True)
class RawPayload:
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SenderContact:
    kind: str  # a citizens ContactKind value: email, phone, whatsapp, ...
    value: str


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    content: bytes

    @property
    def size(self) -> int:
        return len(self.content)

    def to_json(self) -> dict[str, str]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "content_b64": base64.b64encode(self.content).decode(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InboundAttachment:
        if not isinstance(data, Mapping):
            raise InvalidPayload("each attachment must be an object")
        try:
            content = base64.b64decode(str(data["content_b64"]), validate=True)
            return cls(
                filename=str(data["filename"])[:NAME_MAX_LENGTH],
                content_type=str(data.get("content_type") or "application/octet-stream"),
                content=content,
            )
        except (KeyError, ValueError) as exc:
            raise InvalidPayload(f"attachment is malformed: {exc}") from exc


@dataclass(frozen=True)
class InboundMessage:
    """One contact from a citizen, as any channel delivers it."""

    channel: str
    provider_message_id: str | None
    body: str
    sender: tuple[SenderContact, ...] = ()
    sender_name: str = ""
    subject: str = ""
    language: str = ""
    # Threading: the case the message answers, if it names one. A reference is honoured only
    # when the channel authenticates its senders or the sender is already known on that case;
    # the digest of a private status link's secret proves the sender holds the link.
    case_reference: str = ""
    reply_token_digest: str = ""
    # For a new request: the digest of the status link the citizen was given.
    new_case_token_digest: str = ""
    # Structured requests (forms, API): the service chosen and its answers.
    service_code: str = ""
    answers: Mapping[str, Any] = field(default_factory=dict)
    attachments: tuple[InboundAttachment, ...] = ()
    received_at: datetime | None = None


class DeliveryOutcome(enum.StrEnum):
    SENT = "sent"
    TEMPORARY_FAILURE = "temporary_failure"
    PERMANENT_FAILURE = "permanent_failure"


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str
    recipient: str
    body: str
    subject: str = ""
    thread_reference: str = ""
    is_private: bool = False


@dataclass(frozen=True)
class DeliveryResult:
    outcome: DeliveryOutcome
    provider_message_id: str = ""
    error: str = ""

    @classmethod
    def sent(cls, provider_message_id: str = "") -> DeliveryResult:
        return cls(DeliveryOutcome.SENT, provider_message_id=provider_message_id)

    @classmethod
    def temporary_failure(cls, error: str) -> DeliveryResult:
        return cls(DeliveryOutcome.TEMPORARY_FAILURE, error=error)

    @classmethod
    def permanent_failure(cls, error: str) -> DeliveryResult:
        return cls(DeliveryOutcome.PERMANENT_FAILURE, error=error)


class ChannelAdapter(ABC):
    """One channel kind. Subclasses set `kind` and `label` and implement the two translations."""

    kind: ClassVar[str]
    label: ClassVar[str]
    # Whether a reply in this channel reaches the citizen by itself (portal: the status page).
    needs_recipient: ClassVar[bool] = True
    # Contact-point kinds a reply can be addressed to, in order of preference.
    recipient_kinds: ClassVar[tuple[str, ...]] = ()
    # Conversational channels (SMS, chat): a message without a reference joins the sender's
    # open case from this channel. Form-like channels (portal, API) open a case each time.
    threads_by_sender: ClassVar[bool] = False
    # Whether whoever sends through this channel is authenticated staff or an integration,
    # so that a case reference they name can be trusted (the API: bearer tokens).
    senders_are_authenticated: ClassVar[bool] = False

    def verify(self, payload: RawPayload, config: Mapping[str, Any]) -> None:
        """Raise SignatureMismatch when the payload is not authentic. Default: nothing to check."""
        return

    @abstractmethod
    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        """Translate a raw payload; raise InvalidPayload with a clear reason."""

    @abstractmethod
    def send(self, message: OutgoingMessage, config: Mapping[str, Any]) -> DeliveryResult:
        """Deliver one message; report failures as results, raising only for bugs."""


def json_object(payload: RawPayload) -> dict[str, Any]:
    """The payload's body as a JSON object, or InvalidPayload saying what is wrong with it."""
    import json

    try:
        data = json.loads(payload.body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidPayload(f"body is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise InvalidPayload("body must be a JSON object")
    return data


def text_field(
    data: Mapping[str, Any], name: str, *, required: bool = False, limit: int = 0
) -> str:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise InvalidPayload(f"'{name}' is required")
        return ""
    if not isinstance(value, str):
        raise InvalidPayload(f"'{name}' must be text")
    if limit and len(value) > limit:
        raise InvalidPayload(f"'{name}' is longer than {limit} characters")
    return value


def attachments_field(data: Mapping[str, Any]) -> tuple[InboundAttachment, ...]:
    items = data.get("attachments") or []
    if not isinstance(items, list):
        raise InvalidPayload("'attachments' must be a list")
    return tuple(InboundAttachment.from_json(item) for item in items)
