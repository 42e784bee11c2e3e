"""The contract between the channels framework and each channel adapter.

Adapters translate between a provider's wire format and these plain values. They never touch
the database and know nothing about citizens or cases: the framework stores, deduplicates,
retries and guards; the inbound handler (cases) decides what a message means.
"""

from __future__ import annotations

import base64
import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol

from civicdesk.channels.config import AccountConfig
from civicdesk.core.limits import NAME_MAX_LENGTH


class InvalidPayload(ValueError):
    """The payload cannot be understood; the message says why, for the sender and the admin."""


class SignatureMismatch(InvalidPayload):
    """The payload was not signed by the provider it claims to come from."""


class ReplayedPayload(SignatureMismatch):
    """Correctly signed, but too old (outside the tolerance window) or seen before."""


class NoMessage(InvalidPayload):
    """The body carries no citizen message (only delivery receipts, or a status ping)."""


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
    # An image shown inside the message (an email's `Content-ID`, without the brackets), which
    # the message's HTML names as `cid:<content_id>`; "" for a file attached to it.
    content_id: str = ""

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
    # Loop protection: the provider or the message says it was sent by a machine (an
    # auto-reply, an out-of-office). It is processed, but nothing automatic answers it.
    is_automated: bool = False
    # The account identity the citizen wrote to (our number, our address), when known.
    recipient: str = ""
    # Conversations with several people (email): the others the message went to or was copied
    # to, who receive replies too. Never the sender, never the account itself.
    participants: tuple[SenderContact, ...] = ()
    # What was folded away from `body`: quoted history and the signature, kept to be shown on
    # demand ("" when nothing was folded). `body` is what the sender wrote this time.
    quoted_text: str = ""
    # The message as sanitised HTML (safe to show), when it came only as HTML; "" otherwise.
    body_html: str = ""
    # Threading by the provider's message ids: the ids of earlier messages this one answers,
    # nearest first (an email's In-Reply-To, then its References, newest first). The framework
    # resolves them to a thread: one of our own sent messages, or an earlier inbound one.
    in_reply_to_ids: tuple[str, ...] = ()
    # A token the channel carried back from one of our messages (an email's reply address,
    # `help+<token>@...`); the domain that minted it checks it. "" when none.
    reply_address_token: str = ""
    # What the adapter left out of the message or repaired, in plain words, for staff (an
    # attachment over the size limit, a charset that was guessed).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class InboundSketch:
    """What admitting a payload needs, read cheaply (an email's headers only): the framework
    stores the payload on it and leaves the full read (`parse_inbound`) to the workers.

    Both values must be exactly what `parse_inbound` gives for the same payload: the provider
    id deduplicates (a message sketched once and parsed in full once must be one), and the
    sender is what the per-sender rate limit and arrival order go by, and what the
    own-identity check reads; `carries_message` must be False exactly where `parse_inbound`
    raises NoMessage (the provider id is then the one `unread_payload_id` gives)."""

    provider_message_id: str | None
    sender: tuple[SenderContact, ...] = ()
    # False: the payload carries no citizen message, only receipts (an email's delivery status
    # report), as `parse_inbound` would say by raising NoMessage: stored as processed.
    carries_message: bool = True


class DeliveryOutcome(enum.StrEnum):
    SENT = "sent"
    TEMPORARY_FAILURE = "temporary_failure"
    PERMANENT_FAILURE = "permanent_failure"


@dataclass(frozen=True)
class OutgoingAttachment:
    """A file sent with a message; the framework loads it from storage for the adapter."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str
    recipient: str
    body: str
    subject: str = ""
    thread_reference: str = ""
    is_private: bool = False
    attachments: tuple[OutgoingAttachment, ...] = ()
    # The contact-point kind of `recipient` (phone, email, whatsapp...), when the caller knows.
    recipient_kind: str = ""
    # The account the message leaves from (its uuid as text; "" for the channel's default).
    account: str = ""
    # An automatic message (acknowledgement, notification), not an agent's reply: loop
    # protection refuses it towards automated senders and caps it per recipient.
    is_automatic: bool = False
    # Stable per delivery: providers that deduplicate by key make a retried POST safe.
    idempotency_key: str = ""
    # Others who receive the message too (an email's Cc: the case's participants). Channels
    # that cannot copy anyone ignore it; a fallback to another channel drops it.
    copy_to: tuple[str, ...] = ()
    # The provider ids of the thread's earlier messages in this channel, oldest first (what
    # the citizen sent us and what we sent them): email threads a reply by them.
    thread_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeliveryRoute:
    """One way to reach a citizen: a channel, the address in it, and the account to leave from.

    `last_inbound_at` is when the citizen last wrote to us on this route; channels with a
    `reply_window` accept a message only within it (None: unknown, the window counts as closed
    for such channels, open for the rest).
    """

    channel: str
    recipient: str
    account_id: int | None = None
    last_inbound_at: datetime | None = None


@dataclass(frozen=True)
class AttachmentRef:
    """A file to send, already saved in Django's default storage under `storage_name`."""

    storage_name: str
    filename: str
    content_type: str


@dataclass(frozen=True)
class DeliveryResult:
    outcome: DeliveryOutcome
    provider_message_id: str = ""
    error: str = ""
    # For a temporary failure: the provider asked us to wait this many seconds (Retry-After).
    retry_after: float | None = None

    @classmethod
    def sent(cls, provider_message_id: str = "") -> DeliveryResult:
        return cls(DeliveryOutcome.SENT, provider_message_id=provider_message_id)

    @classmethod
    def temporary_failure(cls, error: str, retry_after: float | None = None) -> DeliveryResult:
        return cls(DeliveryOutcome.TEMPORARY_FAILURE, error=error, retry_after=retry_after)

    @classmethod
    def permanent_failure(cls, error: str) -> DeliveryResult:
        return cls(DeliveryOutcome.PERMANENT_FAILURE, error=error)


class ReceiptState(enum.StrEnum):
    """Where a sent message is, as its provider reports; ordered (see `RECEIPT_ORDER`)."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


# A delivery only moves forward along this order; FAILED is handled apart.
RECEIPT_ORDER: Mapping[ReceiptState, int] = {
    ReceiptState.QUEUED: 0,
    ReceiptState.SENT: 1,
    ReceiptState.DELIVERED: 2,
    ReceiptState.READ: 3,
}


@dataclass(frozen=True)
class DeliveryReceipt:
    """A provider's word on a message we sent, named by the id the provider gave it."""

    provider_message_id: str
    state: ReceiptState
    at: datetime | None = None
    error: str = ""
    permanent: bool = True  # for FAILED: whether trying again could help
    # For FAILED: the address itself cannot be reached (a hard bounce: no such mailbox or
    # domain), not only this message. The framework marks the contact point undeliverable, so
    # that later messages go by the citizen's next channel.
    recipient_unreachable: bool = False
    # The address the receipt is about, when a message went to several (an email's Cc); ""
    # for the delivery's own recipient. A receipt about one of the copies never fails the
    # delivery.
    recipient: str = ""


@dataclass(frozen=True)
class WebhookResponse:
    """What the endpoint answers the provider (a handshake echo, an acknowledgement)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


@dataclass(frozen=True)
class PollResult:
    """What one poll fetched, and where the next poll resumes. The framework stores every
    payload before it saves `cursor`, so a crash in between fetches them again (deduplicated)."""

    payloads: Sequence[RawPayload]
    cursor: str


@dataclass(frozen=True)
class PollProgress:
    """How far one poll of an account has come: payloads handed to the framework so far
    (`fetched`; `stored` of them new, the rest already held), and how many wait on the
    provider's side still (None: the provider does not say)."""

    fetched: int = 0
    stored: int = 0
    waiting: int | None = None


class PollIntake(Protocol):
    """The framework's side of a poll (`ChannelAdapter.poll_into`): a durable store, and a
    checkpoint that saves where the next poll resumes. The adapter stores every payload
    before it acts on the provider's side (marks a message read, moves it) and checkpoints
    only a cursor whose payloads are all stored: a poll that dies anywhere loses nothing, and
    what it fetched again is recognised as already held."""

    def store(self, raw: RawPayload) -> ListenerVerdict:
        """Store `raw` (committed when this returns); raises on a storage fault."""
        ...

    def checkpoint(self, cursor: str, *, waiting: int | None = None) -> PollProgress:
        """Save `cursor` (and how many payloads still wait, when known); the progress so far."""
        ...


@dataclass(frozen=True)
class ConnectionCheck:
    """One step of testing an account's connection to its provider (name lookup, TLS, sign-in,
    a folder), said in plain words for the administrator: what was tried, whether it worked,
    and, when it did not, what is wrong and what to change."""

    step: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class ListenerAccount:
    """An account a listening channel receives for: its id and its decrypted settings."""

    account_id: int
    config: Any


@dataclass(frozen=True)
class ListenerVerdict:
    """What became of a message a listener handed over: stored (durably, before the sender is
    told), or not stored for a reason that is temporary (the sender should try again)."""

    stored: bool
    duplicate: bool = False
    reason: str = ""


class ListenerIntake(Protocol):
    """The framework's side of a listener: which account an address belongs to, and a durable
    store. Both may be slow (the database): a listener calls them off its event loop."""

    def account_for(self, identity: str) -> ListenerAccount | None: ...

    def accept(self, raw: RawPayload, account: ListenerAccount) -> ListenerVerdict: ...


class Listener(Protocol):
    """A server a channel runs to receive (the SMTP listener); started and stopped once."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class ChannelAdapter(ABC):
    """One channel kind. Subclasses set `kind` and `label` and implement the two translations.

    Hooks take `config`, a decrypted instance of the adapter's `config_schema` (for the
    account the payload came to or the message leaves from; the schema's defaults when there
    is no account).
    """

    kind: ClassVar[str]
    label: ClassVar[str]
    config_schema: ClassVar[type[AccountConfig]] = AccountConfig
    # Messages the provider lets us send only this long after the citizen's last message on
    # the same account (None: no window). Past it the framework moves to the next route.
    reply_window: ClassVar[timedelta | None] = None
    # Whether the per-sender inbound rate limit applies (CIVICDESK_INBOUND_RATE_LIMIT). Off only
    # for channels whose senders cannot flood or loop: web forms behind CSRF whose sender is
    # typed, unverified (throttling by it would let anyone delay someone else's requests),
    # authenticated integrations, the staff console.
    rate_limited: ClassVar[bool] = True
    # Whether payloads reach this channel over the framework's webhook endpoint. Off for
    # channels delivered over a protocol of their own (email: SMTP, IMAP), whose payloads carry
    # what the framework's listener read beside them (the envelope), which a request must not.
    receives_webhooks: ClassVar[bool] = True
    # Whether accounts of this kind may be polled (`poll` / `poll_into`) rather than pushed
    # to; which of them are is `polls_account`'s to say (email: those with an IMAP server).
    polls: ClassVar[bool] = False
    # Whether this channel can send at all yet (a channel may receive before its sending is
    # built): replies never take a route through a channel that cannot send.
    can_send: ClassVar[bool] = True
    # Whether a reply in this channel reaches the citizen by itself (portal: the status page).
    needs_recipient: ClassVar[bool] = True
    # Contact-point kinds a reply can be addressed to, in order of preference.
    recipient_kinds: ClassVar[tuple[str, ...]] = ()
    # Conversational channels (SMS, chat): a message without a reference joins the sender's
    # open case from this channel. Form-like channels (portal, API) open a case each time.
    threads_by_sender: ClassVar[bool] = False
    # Whether a new case opened by a message on this channel is acknowledged by a message back
    # (the reference, the private status link, what happens next): channels whose own answer
    # does not show the reference (email, SMS). Off for the portal, the API and the console,
    # whose HTTP answer carries it. Never for a message that says it was sent by a machine.
    acknowledges_by_message: ClassVar[bool] = True
    # Whether whoever sends through this channel is authenticated staff or an integration,
    # so that a case reference they name can be trusted (the API: bearer tokens).
    senders_are_authenticated: ClassVar[bool] = False
    # Whether a provider id names the message itself, whichever of our accounts it came to
    # (email: its Message-ID and content), rather than a number the provider gives per bot,
    # page or number. Then the same message reaching two of our accounts is one contact.
    provider_ids_name_the_message: ClassVar[bool] = False

    def verify(self, payload: RawPayload, config: Any) -> None:
        """Raise SignatureMismatch when the payload is not authentic, ReplayedPayload when it is
        authentic but stale (see `check_fresh`). Default: nothing to check."""
        return

    def replay_key(self, payload: RawPayload) -> str:
        """A value unique to one delivery of a webhook (its signature, a nonce); the framework
        refuses a second webhook with the same key within the tolerance window. "" = none."""
        return ""

    @abstractmethod
    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        """Translate a raw payload; raise InvalidPayload with a clear reason, NoMessage when
        the body carries only receipts."""

    def sketch(self, payload: RawPayload) -> InboundSketch | None:
        """What admitting `payload` needs (its provider id and sender), read more cheaply than
        `parse_inbound` reads it, for a payload the framework stores without processing it now
        (the workers read it in full). None: no cheaper read, or none for this payload (it
        may be no message, or unreadable): the framework parses it in full at once, as it
        does for every payload of an adapter that does not override this. Must never raise.
        The payload is stored without what only the full read gives (a new case's status-link
        digest, its received time): callers that need those (`process_now`,
        `reserve_reference`) always have it read in full.
        """
        return None

    def parse_receipt(self, payload: RawPayload) -> tuple[DeliveryReceipt, ...]:
        """The delivery receipts the body carries (a body may carry a message and receipts)."""
        return ()

    @abstractmethod
    def send(self, message: OutgoingMessage, config: Any) -> DeliveryResult:
        """Deliver one message; report failures as results, raising only for bugs."""

    def handshake(self, query: Mapping[str, str], config: Any) -> WebhookResponse | None:
        """Answer a provider's GET on the webhook URL (challenge / verify-token). None: 404."""
        return None

    def acknowledge(self, payload: RawPayload, config: Any) -> WebhookResponse:
        """The answer to an accepted webhook POST."""
        return WebhookResponse(status=204)

    def own_identities(self, config: Any) -> tuple[str, ...]:
        """The sender values that are the account itself (our number, our address): a message
        from one of them is our own echoed back, stored but never processed."""
        return ()

    def check_connection(self, config: Any) -> tuple[ConnectionCheck, ...]:
        """Try the account's connections (the admin's "test connection"), one step after the
        other, stopping at the first that fails (in each connection, for an account with more
        than one). Reports problems as checks, never raises. Default: nothing to try."""
        return ()

    def polls_account(self, config: Any) -> bool:
        """Whether this account is polled (only asked where `polls` is set). Default: all are."""
        return self.polls

    def poll(self, config: Any, cursor: str) -> PollResult:
        """Fetch what arrived since `cursor` (adapters with `polls = True`)."""
        raise NotImplementedError(f"{self.kind} is not a polled channel")

    def poll_into(self, config: Any, cursor: str, intake: PollIntake) -> None:
        """Fetch what arrived since `cursor` into `intake`, checkpointing as it goes. Override
        to fetch in batches, or to act on the provider's side once payloads are stored (an
        IMAP mailbox's flags). Raise on a fault (connection, sign-in): the framework records it
        on the account and the next poll resumes from the last checkpoint. Default: one
        `poll`, every payload stored, then its cursor saved."""
        result = self.poll(config, cursor)
        for raw in result.payloads:
            intake.store(raw)
        intake.checkpoint(result.cursor)

    def unread_payload_id(self, payload: RawPayload) -> str | None:
        """The provider id of a payload `parse_inbound` could not read, when its bytes still
        name it (email: the Message-ID and a digest of the content), so that the same broken
        payload fetched again is recognised as held. None: only a parse knows it."""
        return None

    def provider_id_prefix(self, message_id: str) -> str:
        """Where a provider id carries more than the message's own id (email: the Message-ID
        and a digest of the content), the start that every provider id of the message
        `message_id` shares; "" when provider ids are the message ids themselves."""
        return ""

    def listener(self, *, host: str, port: int, intake: ListenerIntake) -> Listener:
        """A server receiving this channel's messages on host:port (channels that are delivered
        to over a protocol of their own, like SMTP). Each message is handed to `intake`, which
        stores it before the listener tells the sender it was accepted."""
        raise NotImplementedError(f"{self.kind} does not listen")


# How far a signed webhook's timestamp may be from now, either way. The webhook endpoint sets
# it from CIVICDESK_WEBHOOK_TOLERANCE_SECONDS around `verify` (the one source of truth, which
# also bounds the replay memory); the default serves adapter tests run without the framework.
REPLAY_WINDOW: ContextVar[timedelta] = ContextVar("REPLAY_WINDOW", default=timedelta(minutes=5))


def check_fresh(timestamp: datetime, *, now: datetime) -> None:
    """Raise ReplayedPayload when a signed timestamp is outside the `REPLAY_WINDOW`."""
    if abs(now - timestamp) > REPLAY_WINDOW.get():
        raise ReplayedPayload(f"timestamp {timestamp.isoformat()} is outside the replay window")


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
