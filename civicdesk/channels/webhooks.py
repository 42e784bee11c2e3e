"""One webhook endpoint for every provider: /hooks/<kind>/<account-uuid>/.

GET answers the adapter's handshake; POST verifies the signature with the account's secret,
refuses replays (timestamp outside the window, or a replay key seen within it), stores the raw
payload through `accept_inbound` (which enqueues processing) and answers with the adapter's
acknowledgement. Refused webhooks are counted on the account and nothing of them is stored.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from civicdesk.channels import registry
from civicdesk.channels.accounts import account_config
from civicdesk.channels.contracts import (
    REPLAY_WINDOW,
    RawPayload,
    ReplayedPayload,
    SignatureMismatch,
    WebhookResponse,
)
from civicdesk.channels.models import ChannelAccount, SeenWebhook
from civicdesk.channels.receipts import record_receipts
from civicdesk.channels.receiving import read_receipts
from civicdesk.channels.secrets import SecretsUnreadable
from civicdesk.channels.services import accept_inbound
from civicdesk.core.clock import now

logger = logging.getLogger(__name__)


def _account(kind: str, account_uuid: str) -> ChannelAccount:
    try:
        wanted = uuid.UUID(account_uuid)
    except ValueError:
        raise Http404 from None
    adapter = registry.adapters().get(kind)
    if adapter is None or not adapter.receives_webhooks:
        raise Http404
    account = ChannelAccount.objects.filter(kind=kind, uuid=wanted, is_active=True).first()
    if account is None:
        raise Http404
    return account


def record_rejected_webhook(*, account: ChannelAccount, reason: str) -> None:
    ChannelAccount.objects.filter(pk=account.pk).update(
        rejected_webhooks=F("rejected_webhooks") + 1,
        last_rejected_at=now(),
        last_rejected_reason=reason[:255],
    )


def replay_tolerance() -> timedelta:
    """The replay window: CIVICDESK_WEBHOOK_TOLERANCE_SECONDS (see REPLAY_WINDOW)."""
    return timedelta(seconds=settings.CIVICDESK_WEBHOOK_TOLERANCE_SECONDS)


def forget_old_replay_keys() -> int:
    """Forget the replay keys kept for twice the window (a key is kept for as long as its
    timestamp could still pass check_fresh); returns how many. A periodic job, so that a
    webhook's request only ever adds its key."""
    cutoff = now() - 2 * replay_tolerance()
    return SeenWebhook.objects.filter(seen_at__lt=cutoff).delete()[0]


def _remember(account: ChannelAccount, key: str) -> bool:
    """Whether the replay key is new (and now remembered)."""
    moment = now()
    digest = hashlib.sha256(key.encode()).hexdigest()
    try:
        with transaction.atomic():
            SeenWebhook.objects.create(account=account, digest=digest, seen_at=moment)
    except IntegrityError:
        return False
    return True


def receive_webhook(*, kind: str, account: ChannelAccount, raw: RawPayload) -> WebhookResponse:
    """Verify, refuse replays, store and enqueue. Forged → 403, replayed → 401.

    The replay key is remembered in the same transaction that stores the payload: a request
    that fails after verification leaves no key behind, so the provider's retry is accepted.
    """
    adapter = registry.adapter_for(kind)
    try:
        config = account_config(adapter=adapter, account=account)
    except SecretsUnreadable:
        return _unreadable_secrets(account)
    window = REPLAY_WINDOW.set(replay_tolerance())
    try:
        adapter.verify(raw, config)
        receipts = read_receipts(kind, raw, source="webhook")
        with transaction.atomic():
            key = adapter.replay_key(raw)
            if key and not _remember(account, key):
                raise ReplayedPayload("this signed request was received before")
            accept_inbound(channel=kind, raw=raw, account=account, verified=True)
            if receipts:
                record_receipts(channel=kind, account=account, receipts=receipts)
    except ReplayedPayload as exc:
        record_rejected_webhook(account=account, reason=f"replayed: {exc}")
        return WebhookResponse(status=401, body=b"replayed")
    except SignatureMismatch as exc:
        record_rejected_webhook(account=account, reason=f"forged: {exc}")
        return WebhookResponse(status=403, body=b"signature mismatch")
    finally:
        REPLAY_WINDOW.reset(window)
    return adapter.acknowledge(raw, config)


def _unreadable_secrets(account: ChannelAccount) -> WebhookResponse:
    """The account's secrets cannot be decrypted (an encryption key was dropped too soon):
    nothing can be verified, so nothing is stored; 503 makes the provider retry later, after
    an administrator has re-entered the secrets."""
    logger.error(
        "Webhook for %s account %s: its secrets cannot be decrypted", account.kind, account.pk
    )
    record_rejected_webhook(account=account, reason="secrets unreadable: re-enter them")
    return WebhookResponse(status=503, body=b"account secrets unreadable")


def _response(answer: WebhookResponse) -> HttpResponse:
    return HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)


# Credentials are never stored with a payload (signature headers are kept: they prove nothing
# to anyone without the account's secret, and they let a payload be verified again).
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


# Headers the framework's own listeners set beside a payload (the SMTP envelope, an account's
# limits): never taken from a request, where the sender would choose them.
_INTERNAL_HEADER_PREFIX = "x-civicdesk-"


def _headers(request: HttpRequest) -> Mapping[str, str]:
    return {
        name: value
        for name, value in request.headers.items()
        if name.lower() not in _CREDENTIAL_HEADERS
        and not name.lower().startswith(_INTERNAL_HEADER_PREFIX)
    }


@csrf_exempt
def webhook(request: HttpRequest, kind: str, account_uuid: str) -> HttpResponse:
    account = _account(kind, account_uuid)
    if request.method == "GET":
        adapter = registry.adapter_for(kind)
        try:
            config = account_config(adapter=adapter, account=account)
        except SecretsUnreadable:
            return _response(_unreadable_secrets(account))
        answer = adapter.handshake(request.GET.dict(), config)
        if answer is None:
            raise Http404
        return _response(answer)
    if request.method != "POST":
        return HttpResponse(status=405)
    length = (request.headers.get("Content-Length") or "0").strip()
    if not (length.isascii() and length.isdigit()):
        return HttpResponse(b"invalid Content-Length", status=400)
    if int(length) > settings.CIVICDESK_MAX_BODY_BYTES:
        return HttpResponse(status=413)
    raw = RawPayload(
        body=request.body,
        content_type=request.content_type or "application/octet-stream",
        headers=_headers(request),
    )
    return _response(receive_webhook(kind=kind, account=account, raw=raw))
