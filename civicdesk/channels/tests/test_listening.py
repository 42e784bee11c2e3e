"""The listener's intake: an address finds its account from memory, and storing a message
costs no query to find that account again (it is read with the identities, for a few
seconds); a mailbox removed meanwhile is still refused after those seconds."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from civicdesk.channels import listening
from civicdesk.channels.adapters.email.envelope import CONTENT_TYPE, Envelope
from civicdesk.channels.contracts import RawPayload
from civicdesk.channels.listening import AccountIntake
from civicdesk.channels.models import ChannelAccount, InboundPayload
from civicdesk.channels.services import ensure_account

pytestmark = pytest.mark.django_db(transaction=True)

HELP = "help@riverton.example"


def mail(n: int) -> RawPayload:
    body = (
        f"From: ann@example.org\r\nTo: {HELP}\r\nSubject: Lamp {n}\r\n"
        f"Message-ID: <lamp-{n}@example.org>\r\n\r\nThe lamp is out.\r\n"
    ).encode()
    return RawPayload(body, CONTENT_TYPE, Envelope("ann@example.org", (HELP,)).to_headers())


def test_storing_a_message_does_not_read_its_account_again(riverton: Any, settings: Any) -> None:
    # Stored only: the workers process it (processing reads the account to acknowledge).
    settings.TASK_BACKEND = "database"
    ensure_account(kind="email", name="Help desk", values={"address": HELP})
    intake = AccountIntake("email")
    account = intake.account_for(HELP)
    assert account is not None
    with CaptureQueriesContext(connection) as queries:
        assert intake.accept(mail(1), account).stored
    account_table = ChannelAccount._meta.db_table
    assert not [q for q in queries if f'FROM "{account_table}"' in q["sql"]]
    assert InboundPayload.objects.get().account_id == account.account_id


def test_a_removed_mailbox_is_refused_once_the_accounts_are_read_again(
    riverton: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_account(kind="email", name="Help desk", values={"address": HELP})
    intake = AccountIntake("email")
    account = intake.account_for(HELP)
    assert account is not None
    ChannelAccount.objects.all().delete()
    monkeypatch.setattr(listening, "ACCOUNTS_TTL_SECONDS", -1.0)
    assert intake.account_for(HELP) is None
    verdict = intake.accept(mail(2), account)
    assert (verdict.stored, verdict.reason) == (False, "the mailbox was just removed")
    assert InboundPayload.objects.count() == 0
