"""The one webhook endpoint, with good, forged and replayed signatures (sms_acme)."""

import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from civicdesk.channels.accounts import configure_account
from civicdesk.channels.models import ChannelAccount, InboundPayload, ReceiptRecord, SeenWebhook
from civicdesk.channels.tests.sms_acme.tests.test_adapter import signed

pytestmark = pytest.mark.django_db

BODY = json.dumps(
    {"message": None, "statuses": [{"id": "AM-OUT-9", "status": "sent", "timestamp": None}]}
).encode()


@pytest.fixture
def account() -> ChannelAccount:
    account = ChannelAccount.objects.create(kind="sms_acme", name="Main number")
    configure_account(
        account=account,
        values={
            "from_number": "+447700900001",
            "webhook_secret": "whsec-test",
            "verify_token": "v",
        },
    )
    return account


def _post(client: Client, account: ChannelAccount, raw: object) -> object:
    return client.post(
        f"/hooks/sms_acme/{account.uuid}/",
        data=raw.body,  # type: ignore[attr-defined]
        content_type="application/json",
        headers=dict(raw.headers),  # type: ignore[attr-defined]
    )


def test_a_signed_webhook_is_stored_and_acknowledged(
    client: Client, account: ChannelAccount
) -> None:
    response = _post(client, account, signed(BODY))
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.content == b'{"ok": true}'  # type: ignore[attr-defined]
    payload = InboundPayload.objects.get()
    assert bytes(payload.body) == BODY
    assert payload.account == account


def test_a_forged_signature_is_refused_counted_and_not_stored(
    client: Client, account: ChannelAccount
) -> None:
    response = _post(client, account, signed(BODY, secret="guessed"))
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert InboundPayload.objects.count() == 0
    account.refresh_from_db()
    assert account.rejected_webhooks == 1
    assert account.last_rejected_reason == "forged: the Acme signature does not match"


def test_a_replayed_webhook_is_refused_counted_and_not_stored_twice(
    client: Client, account: ChannelAccount
) -> None:
    raw = signed(BODY)
    assert _post(client, account, raw).status_code == 200  # type: ignore[attr-defined]
    assert _post(client, account, raw).status_code == 401  # type: ignore[attr-defined]
    stale = signed(BODY, at=int(time.time()) - 3600)
    assert _post(client, account, stale).status_code == 401  # type: ignore[attr-defined]
    assert InboundPayload.objects.count() == 1
    account.refresh_from_db()
    assert account.rejected_webhooks == 2
    assert account.last_rejected_reason.startswith("replayed: timestamp ")


def test_unknown_or_inactive_accounts_are_not_found(
    client: Client, account: ChannelAccount
) -> None:
    assert (
        client.post(
            f"/hooks/sms_acme/{uuid.uuid4()}/", data=b"{}", content_type="application/json"
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/hooks/portal/{account.uuid}/", data=b"{}", content_type="application/json"
        ).status_code
        == 404
    )
    ChannelAccount.objects.filter(pk=account.pk).update(is_active=False)
    assert _post(client, account, signed(BODY)).status_code == 404  # type: ignore[attr-defined]
    assert InboundPayload.objects.count() == 0


def test_the_handshake_echoes_the_challenge_only_with_the_right_token(
    client: Client, account: ChannelAccount
) -> None:
    ok = client.get(f"/hooks/sms_acme/{account.uuid}/", {"challenge": "c-42", "verify_token": "v"})
    assert (ok.status_code, ok.content) == (200, b"c-42")
    bad = client.get(f"/hooks/sms_acme/{account.uuid}/", {"challenge": "c-42", "verify_token": "x"})
    assert bad.status_code == 403


def test_an_oversized_body_is_refused(
    client: Client, account: ChannelAccount, settings: object
) -> None:
    settings.CIVICDESK_MAX_BODY_BYTES = 10  # type: ignore[attr-defined]
    assert _post(client, account, signed(BODY)).status_code == 413  # type: ignore[attr-defined]
    assert InboundPayload.objects.count() == 0


def _message(text: str) -> bytes:
    return json.dumps(
        {"message": {"id": "1", "from": "+447700900123", "text": text}, "statuses": []}
    ).encode()


def test_two_accounts_of_one_kind_keep_messages_with_the_same_provider_id(
    client: Client, account: ChannelAccount
) -> None:
    other = ChannelAccount.objects.create(kind="sms_acme", name="Second number")
    configure_account(account=other, values={"webhook_secret": "whsec-other"})
    assert _post(client, account, signed(_message("to the first"))).status_code == 200  # type: ignore[attr-defined]
    second = _post(client, other, signed(_message("to the second"), secret="whsec-other"))
    assert second.status_code == 200  # type: ignore[attr-defined]
    # The same provider id again on the first account is still a duplicate.
    again = _post(client, account, signed(_message("again"), at=int(time.time()) - 1))
    assert again.status_code == 200  # type: ignore[attr-defined]
    stored = InboundPayload.objects.order_by("id")
    assert [(p.account, p.provider_message_id, bytes(p.body)) for p in stored] == [
        (account, "1", _message("to the first")),
        (other, "1", _message("to the second")),
    ]


def test_unreadable_receipts_keep_the_payload_and_answer_200(
    client: Client, account: ChannelAccount, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(
        {"message": None, "statuses": [{"id": "X1", "status": "sent", "timestamp": "yesterday"}]}
    ).encode()
    raw = signed(body)
    client.raise_request_exception = False
    response = _post(client, account, raw)
    assert (response.status_code, InboundPayload.objects.count()) == (200, 1)  # type: ignore[attr-defined]
    assert ReceiptRecord.objects.count() == 0
    assert "Unreadable receipts in a sms_acme webhook" in caplog.text
    # The key was remembered together with the stored payload: the same request is a replay.
    assert _post(client, account, raw).status_code == 401  # type: ignore[attr-defined]
    assert InboundPayload.objects.count() == 1


@pytest.mark.parametrize("length", ["abc", "-5", "\u00b2", "1.5"])
def test_a_malformed_content_length_is_a_400_and_stores_nothing(
    client: Client, account: ChannelAccount, length: str
) -> None:
    client.raise_request_exception = False
    response = client.generic(
        "POST",
        f"/hooks/sms_acme/{account.uuid}/",
        BODY,
        content_type="application/json",
        CONTENT_LENGTH=length,
    )
    assert (response.status_code, response.content) == (400, b"invalid Content-Length")
    assert InboundPayload.objects.count() == 0


def test_the_tolerance_setting_bounds_freshness_and_the_replay_memory(
    client: Client, account: ChannelAccount, settings: Any
) -> None:
    settings.CIVICDESK_WEBHOOK_TOLERANCE_SECONDS = 60
    stale = signed(BODY, at=int(time.time()) - 100)
    assert _post(client, account, stale).status_code == 401  # type: ignore[attr-defined]
    assert InboundPayload.objects.count() == 0
    first = signed(BODY, at=int(time.time()) - 50)
    assert _post(client, account, first).status_code == 200  # type: ignore[attr-defined]
    # 70 s later its timestamp is 120 s old, outside the window; its key is still kept
    # (kept for twice the window), and a stale timestamp is refused anyway.
    SeenWebhook.objects.update(seen_at=SeenWebhook.objects.get().seen_at - timedelta(seconds=70))
    other = signed(_message("purges old keys"))
    assert _post(client, account, other).status_code == 200  # type: ignore[attr-defined]
    assert SeenWebhook.objects.count() == 2
    assert _post(client, account, first).status_code == 401  # type: ignore[attr-defined]
    assert InboundPayload.objects.count() == 2


def test_a_webhook_for_an_account_whose_secrets_cannot_be_read_is_a_503_storing_nothing(
    client: Client, settings: Any
) -> None:
    settings.CIVICDESK_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    account = ChannelAccount.objects.create(kind="sms_acme", name="Keyless")
    configure_account(account=account, values={"webhook_secret": "whsec-test"})
    settings.CIVICDESK_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key is lost
    response = _post(client, account, signed(BODY))
    handshake = client.get(f"/hooks/sms_acme/{account.uuid}/", {"challenge": "c"})
    assert (response.status_code, handshake.status_code) == (503, 503)  # type: ignore[attr-defined]
    assert (InboundPayload.objects.count(), SeenWebhook.objects.count()) == (0, 0)
    account.refresh_from_db()
    assert (account.rejected_webhooks, account.last_rejected_reason) == (
        2,
        "secrets unreadable: re-enter them",
    )


def test_credential_headers_are_not_stored_with_the_payload(
    client: Client, account: ChannelAccount
) -> None:
    raw = signed(BODY)
    headers = {
        **raw.headers,
        "Authorization": "Bearer sk-live",
        "Proxy-Authorization": "Basic eDp5",
        "X-Request-Id": "r-1",
        # What the framework's own listeners set beside a payload, never a request's sender.
        "X-CivicDesk-Envelope-From": "mayor@riverton.example",
    }
    client.cookies["sessionid"] = "s-1"
    response = client.post(
        f"/hooks/sms_acme/{account.uuid}/",
        data=BODY,
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 200
    stored = {name.lower(): value for name, value in InboundPayload.objects.get().headers.items()}
    assert stored["x-request-id"] == "r-1"
    assert stored["x-acme-signature"] == raw.headers["X-Acme-Signature"]
    assert {"authorization", "proxy-authorization", "cookie"} & stored.keys() == set()
    assert "x-civicdesk-envelope-from" not in stored


def test_old_replay_keys_are_forgotten_by_a_periodic_job_not_by_each_webhook(
    client: Client, account: ChannelAccount, settings: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from civicdesk.channels.jobs import forget_replay_keys

    settings.CIVICDESK_WEBHOOK_TOLERANCE_SECONDS = 60
    assert _post(client, account, signed(BODY)).status_code == 200  # type: ignore[attr-defined]
    SeenWebhook.objects.update(seen_at=SeenWebhook.objects.get().seen_at - timedelta(seconds=121))
    with CaptureQueriesContext(connection) as context:
        other = signed(_message("a second message"))
        assert _post(client, account, other).status_code == 200  # type: ignore[attr-defined]
    assert not [q for q in context.captured_queries if q["sql"].startswith("DELETE")]
    assert SeenWebhook.objects.count() == 2

    forget_replay_keys()

    assert SeenWebhook.objects.count() == 1  # the one older than twice the window
