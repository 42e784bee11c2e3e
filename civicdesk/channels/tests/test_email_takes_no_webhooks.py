"""Mail comes in over SMTP or IMAP only: the webhook endpoint takes none, and no request
sets the headers the listeners record beside a payload."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from civicdesk.cases.models import Attachment, Case
from civicdesk.channels.accounts import configure_account
from civicdesk.channels.services import ensure_account

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_webhook_endpoint_does_not_take_mail_with_forged_listener_headers(
    client: Client, riverton: Any
) -> None:
    account = ensure_account(
        kind="email", name="Help desk", values={"address": "help@riverton.example"}
    )
    configure_account(
        account=account,
        values={"address": "help@riverton.example", "max_attachment_bytes": 1000},
    )
    big = "A" * 6000
    raw = (
        "From: ann@example.org\r\nTo: help@riverton.example\r\nSubject: Lamp\r\n"
        "Message-ID: <hook-1@example.org>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe lamp is out.\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="big.pdf"\r\n\r\n'
        f"{big}\r\n--b--\r\n"
    ).encode()
    answer = client.post(
        f"/hooks/email/{account.uuid}/",
        data=raw,
        content_type="message/rfc822",
        headers={"X-CivicDesk-Max-Attachment-Bytes": "999999999"},
    )
    # Mail comes in by the SMTP listener or the IMAP poll; an unauthenticated HTTP door that
    # also lets the sender choose the account's limits should not exist.
    assert answer.status_code in (403, 404, 405), answer.status_code
    assert Case.objects.count() == 0
    assert Attachment.objects.count() == 0
