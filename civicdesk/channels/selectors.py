from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet

from civicdesk.channels import registry
from civicdesk.channels.accounts import account_config
from civicdesk.channels.models import (
    ChannelAccount,
    InboundPayload,
    OutboundDelivery,
    PayloadStatus,
)
from civicdesk.core.clock import now
from civicdesk.core.memo import remembered

# The states a payload goes through, for the interfaces that show them to its sender.
__all__ = ["PayloadStatus"]


def failed_payloads(*, limit: int | None = None) -> QuerySet[InboundPayload]:
    query = InboundPayload.objects.filter(status=PayloadStatus.FAILED).order_by("-id")
    return query[:limit] if limit else query


def payloads(*, status: str | None = None, limit: int = 50) -> QuerySet[InboundPayload]:
    query = InboundPayload.objects.order_by("-id")
    if status:
        query = query.filter(status=status)
    return query[:limit]


def payload_summary(payload: InboundPayload) -> dict[str, object]:
    body: object = payload.body_text
    if payload.content_type.startswith("application/json"):
        try:
            body = json.loads(bytes(payload.body))
        except ValueError:
            body = payload.body_text
    return {
        "id": payload.pk,
        "channel": payload.channel,
        "provider_message_id": payload.provider_message_id,
        "status": payload.status,
        "attempts": payload.attempts,
        "error": payload.error.split("\n\n", 1)[0],
        "received_at": payload.created_at.isoformat(),
        "body": body,
    }


# --- Channel facts for the domain, on plain values (so that no app imports the registry) ----


def channel_label(kind: str) -> str:
    """The channel's name for people; the kind itself for a historical origin with no adapter
    (phone, letter, counter)."""
    adapter = registry.adapters().get(kind)
    return str(adapter.label) if adapter else kind


def channel_choices() -> list[tuple[str, str]]:
    """(kind, label) of every channel this installation has an adapter for."""
    return registry.channel_kinds()


def channel_can_reply(kind: str) -> bool:
    """Whether a message can be sent in `kind` at all (an adapter exists for it, that sends)."""
    adapter = registry.adapters().get(kind)
    return bool(adapter and adapter.can_send)


def threads_by_sender(kind: str) -> bool:
    adapter = registry.adapters().get(kind)
    return bool(adapter and adapter.threads_by_sender)


def acknowledges_by_message(kind: str) -> bool:
    """Whether `kind` answers the citizen by a message of its own (email, SMS): new cases are
    acknowledged, and status changes notified, by a message on it. False for the portal, the
    API and the console (and for a kind without an adapter)."""
    adapter = registry.adapters().get(kind)
    return bool(adapter and adapter.acknowledges_by_message and adapter.can_send)


def reaches_by_itself(kind: str) -> bool:
    """Whether a reply in `kind` reaches the citizen only where they look (the portal's status
    page) rather than being delivered to an address."""
    adapter = registry.adapters().get(kind)
    return bool(adapter and not adapter.needs_recipient)


def senders_are_authenticated(kind: str) -> bool:
    adapter = registry.adapters().get(kind)
    return bool(adapter and adapter.senders_are_authenticated)


def proves_sender(kind: str, contact_kind: str) -> bool:
    """Whether a message arriving by `kind` from a contact point of `contact_kind` proves the
    point works: the channel itself delivers to such points (an email, for the email channel),
    unlike a form where the sender typed an address."""
    adapter = registry.adapters().get(kind)
    return bool(adapter and adapter.needs_recipient and contact_kind in adapter.recipient_kinds)


def sender_identity(kind: str, senders: Sequence[tuple[str, str]]) -> str:
    """The sender's address that `kind` replies to (the first of a kind it sends to), else the
    first address given; "" when the message named nobody."""
    adapter = registry.adapters().get(kind)
    for wanted in adapter.recipient_kinds if adapter else ():
        for contact_kind, value in senders:
            if contact_kind == wanted:
                return value
    return senders[0][1] if senders else ""


@dataclass(frozen=True)
class ReplyRoute:
    """One way a reply can reach a citizen: a channel, the address in it ("" when the channel
    needs none, like the portal) and the account it leaves from (None: the channel default)."""

    channel: str
    label: str
    recipient: str = ""
    recipient_kind: str = ""
    account_id: int | None = None

    @property
    def key(self) -> str:
        """A stable form value naming this route (channel and account)."""
        return f"{self.channel}:{self.account_id or ''}"


def reachable_routes(
    *,
    contacts: Sequence[tuple[str, str]],
    used_channels: Sequence[str],
    preferred_channel: str = "",
    default_channel: str = "",
    default_account_id: int | None = None,
    default_identity: str = "",
) -> list[ReplyRoute]:
    """Every route a reply can take to a citizen, best first. One query (active accounts).

    `contacts` are the citizen's (kind, value) contact points, most recent first;
    `used_channels` the channels they wrote in on this case, latest first. A channel is
    reachable when it has an adapter and either needs no address and the citizen used it
    (the portal: they hold the status link), or has an address of a kind it sends to and is
    the channel the citizen used or has an active account (a channel nobody configured
    reaches nobody; the development console counts only for its own cases). The default
    route (the case's channel, account and identity) comes first, then the citizen's
    preferred channel, then the most recently used, then the rest in adapter order.
    """
    adapters = registry.adapters()
    accounts: dict[str, list[int | None]] = {}
    for account_id, kind in (
        ChannelAccount.objects.filter(is_active=True, kind__in=list(adapters))
        .order_by("kind", "name", "id")
        .values_list("id", "kind")
    ):
        accounts.setdefault(kind, []).append(account_id)
    routes: list[ReplyRoute] = []
    for kind, adapter in adapters.items():
        if not adapter.can_send:
            continue
        used = kind in used_channels
        if not adapter.needs_recipient:
            if used:
                routes.append(ReplyRoute(channel=kind, label=str(adapter.label)))
            continue
        if not (used or kind in accounts):
            continue
        # One route per active account (the case's own first); the channel default if none.
        route_accounts: list[int | None] = list(accounts.get(kind) or [None])
        if kind == default_channel and default_account_id is not None:
            others = [a for a in route_accounts if a != default_account_id]
            route_accounts = [default_account_id, *others]
        recipient, recipient_kind = _address_for(
            adapter.recipient_kinds,
            contacts,
            preferred=default_identity if kind == default_channel else "",
        )
        if recipient:
            routes.extend(
                ReplyRoute(
                    channel=kind,
                    label=str(adapter.label),
                    recipient=recipient,
                    recipient_kind=recipient_kind,
                    account_id=account_id,
                )
                for account_id in route_accounts
            )

    def rank(route: ReplyRoute) -> tuple[int, int, int]:
        recency = (
            used_channels.index(route.channel)
            if route.channel in used_channels
            else len(used_channels)
        )
        return (
            route.channel != default_channel,
            route.channel != preferred_channel,
            recency,
        )

    return sorted(routes, key=rank)  # stable: a channel's accounts keep their order


def _address_for(
    kinds: Sequence[str], contacts: Sequence[tuple[str, str]], *, preferred: str
) -> tuple[str, str]:
    for kind in kinds:
        values = [value for contact_kind, value in contacts if contact_kind == kind]
        if preferred and preferred in values:
            return preferred, kind
        if values:
            return values[0], kind
    return "", ""


@dataclass(frozen=True)
class ThreadMatch:
    """The conversation an inbound message answers, found by the provider's message ids.

    `proven`: the message answers one of *our* messages (its id, or the reply token it carried
    back, is one only its recipients saw), so the sender may join that case like the holder of
    its status link. Otherwise it answers an earlier inbound message, whose id its own sender
    chose: honour it only from a sender already known on that case.
    """

    reference: str
    proven: bool


# The most ids of a References chain looked up (the nearest ones: the chain is newest first).
THREAD_IDS_LOOKED_UP = 20


def thread_of_reply(
    *, channel: str, message_ids: Sequence[str], reply_token: str = ""
) -> ThreadMatch | None:
    """The case thread an inbound message answers, or None. At most three queries.

    First the messages we sent in `channel` (OutboundDelivery provider ids, which are our own
    message ids): by the reply token (`<token>@...`), then by any of `message_ids`, nearest
    first. Then the earlier inbound messages of the channel that were processed into a case.
    """
    sent = OutboundDelivery.objects.filter(channel=channel).exclude(thread_reference="")
    if reply_token and len(reply_token) >= 16:
        reference = (
            sent.filter(provider_message_id__startswith=f"{reply_token}@")
            .values_list("thread_reference", flat=True)
            .first()
        )
        if reference:
            return ThreadMatch(reference=reference, proven=True)
    ids = [value for value in message_ids if value][:THREAD_IDS_LOOKED_UP]
    if not ids:
        return None
    found = dict(
        sent.filter(provider_message_id__in=ids).values_list(
            "provider_message_id", "thread_reference"
        )
    )
    for value in ids:
        if value in found:
            return ThreadMatch(reference=found[value], proven=True)
    adapter_class = registry.adapters().get(channel)
    adapter = adapter_class() if adapter_class else None
    # (id, how its provider ids start, or "" when they are the id itself), nearest first.
    keys = [(value, adapter.provider_id_prefix(value) if adapter else "") for value in ids]
    condition = Q()
    for value, prefix in keys:
        condition |= (
            Q(provider_message_id__startswith=prefix) if prefix else Q(provider_message_id=value)
        )
    earlier = [
        (str(provider_id), reference)
        for provider_id, reference in InboundPayload.objects.filter(
            condition, channel=channel, status=PayloadStatus.PROCESSED
        )
        .exclude(result_reference="")
        .order_by("id")
        .values_list("provider_message_id", "result_reference")
    ]
    for value, prefix in keys:
        for provider_id, reference in earlier:
            if provider_id == value or (prefix and provider_id.startswith(prefix)):
                return ThreadMatch(reference=reference, proven=False)
    return None


def own_identities(kind: str) -> frozenset[str]:
    """Every identity of the active accounts of `kind` (our addresses, our numbers),
    casefolded: a message from one of them is ours, whichever account it reached. One query
    and one decryption per account; once per worker's batch (core.memo)."""

    def compute() -> frozenset[str]:
        if kind not in registry.adapters():
            return frozenset()
        adapter = registry.adapter_for(kind)
        found: set[str] = set()
        for account in ChannelAccount.objects.filter(kind=kind, is_active=True):
            config = account_config(adapter=adapter, account=account)
            found.update(value.casefold() for value in adapter.own_identities(config))
        return frozenset(found)

    return remembered(("channels.own_identities", kind), compute)


def default_account_id(kind: str) -> int | None:
    """The account a message on `kind` leaves from when nothing chose one: the first active
    one, in the order reply routes list them (None: there is none)."""
    return (
        ChannelAccount.objects.filter(kind=kind, is_active=True)
        .order_by("name", "id")
        .values_list("id", flat=True)
        .first()
    )


def channel_account(account_id: int) -> ChannelAccount | None:
    return ChannelAccount.objects.filter(pk=account_id).first()


def account_is_polled(account: ChannelAccount) -> bool:
    """Whether the account is polled (an email account with an IMAP server)."""
    from civicdesk.channels.polling import is_polled

    return is_polled(account)


def poll_progress_text(account: ChannelAccount) -> str:
    """How far the account's latest poll came, for the admin: "" for an account never polled.
    (Administrators' pages are in English only, like the rest of the admin's own text.)"""
    progress = account.poll_progress or {}
    if not progress:
        return ""
    fetched, stored = int(progress.get("fetched") or 0), int(progress.get("stored") or 0)
    waiting = progress.get("waiting")
    text = f"{fetched} fetched ({stored} new)"
    if waiting:
        text += f", {waiting} still waiting"
    elif waiting == 0:
        text += ", none waiting"
    if not progress.get("done"):
        running = account.poll_lease_until is not None and account.poll_lease_until > now()
        text += " — in progress" if running else " — stopped (see the error)"
    return text


def account_by_name_or_uuid(*, kind: str, value: str) -> ChannelAccount | None:
    """The `kind` account called `value` (exactly, then ignoring case), or whose uuid it is."""
    accounts = ChannelAccount.objects.filter(kind=kind)
    try:
        by_uuid = accounts.filter(uuid=uuid.UUID(value.strip())).first()
    except ValueError:
        by_uuid = None
    return (
        by_uuid
        or accounts.filter(name=value).first()
        or accounts.filter(name__iexact=value.strip()).first()
    )


# --- Acknowledged payloads, for the sender to follow -----------------------------------------


def payload_of_sender(*, payload_id: int, channel: str, scope: str) -> InboundPayload | None:
    """A payload as its sender may see it: in their channel and scope (the API token), else
    None — for both missing and someone else's."""
    return InboundPayload.objects.filter(pk=payload_id, channel=channel, scope=scope).first()


def pending_payload_by_token_digest(token_digest: str) -> InboundPayload | None:
    """The newest payload acknowledged with this status-link digest (the portal's private
    link) that has not become a case yet: received, processing, throttled or failed, never
    superseded. None when there is none (or it was processed: the case then answers)."""
    if not token_digest:
        return None
    return (
        InboundPayload.objects.filter(token_digest=token_digest, superseded_at__isnull=True)
        .exclude(status__in=[PayloadStatus.PROCESSED, PayloadStatus.IGNORED])
        .order_by("-id")
        .first()
    )


# --- The same message reaching several of our accounts ----------------------------------------


def provider_ids_name_the_message(kind: str) -> bool:
    """Whether the same provider id on two of the channel's accounts is the same message
    (email), so that its copies may be looked for (`same_message_payloads`)."""
    adapter = registry.adapters().get(kind)
    return bool(adapter and adapter.provider_ids_name_the_message)


def same_message_payloads(*, payload_ids: Sequence[int]) -> dict[int, list[int]]:
    """For each of `payload_ids` whose channel's provider ids name the message itself (email:
    see `ChannelAdapter.provider_ids_name_the_message`), the other payloads of its channel that
    carry the same provider id, oldest first: the same mail that reached another of our
    accounts, or came over IMAP and SMTP. Payloads without such copies are left out.

    Precondition: inside the transaction that acts on the answer. On PostgreSQL it first takes
    a transaction-level advisory lock per message, so that two copies processed at once by two
    workers are processed one after the other: the second, once the first has committed, finds
    what the first made of it (SQLite's single writer, `BEGIN IMMEDIATE`, does that by
    itself). Cost: two indexed queries (three on PostgreSQL), whatever the number of ids.
    """
    if not payload_ids:
        return {}
    rows = InboundPayload.objects.filter(
        pk__in=list(payload_ids), provider_message_id__isnull=False
    ).values_list("pk", "channel", "provider_message_id")
    adapters = registry.adapters()
    keyed = {
        pk: (channel, str(provider_id))
        for pk, channel, provider_id in rows
        if (adapter := adapters.get(channel)) is not None and adapter.provider_ids_name_the_message
    }
    if not keyed:
        return {}
    if connection.vendor == "postgresql":
        keys = sorted({f"{channel}\n{provider_id}" for channel, provider_id in keyed.values()})
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_advisory_xact_lock(h)) FROM (SELECT DISTINCT "
                "hashtextextended(k, 0) AS h FROM unnest(%s::text[]) AS k ORDER BY h) AS held",
                [keys],
            )
    copies = InboundPayload.objects.filter(
        channel__in={channel for channel, _ in keyed.values()},
        provider_message_id__in={provider_id for _, provider_id in keyed.values()},
        superseded_at__isnull=True,
    ).order_by("id")
    by_key: dict[tuple[str, str], list[int]] = {}
    for pk, channel, provider_id in copies.values_list("pk", "channel", "provider_message_id"):
        by_key.setdefault((channel, str(provider_id)), []).append(pk)
    found: dict[int, list[int]] = {}
    for pk, key in keyed.items():
        others = [other for other in by_key.get(key, []) if other != pk]
        if others:
            found[pk] = others
    return found


def processing_runs_inline() -> bool:
    """Whether the task backend runs a task as soon as it is enqueued (tests, development),
    so that a payload may be processed before its acknowledgement is answered."""
    backend = str(settings.TASKS.get("default", {}).get("BACKEND", ""))
    return backend.endswith(".ImmediateBackend")
