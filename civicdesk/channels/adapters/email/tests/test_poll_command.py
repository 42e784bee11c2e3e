"""`civicdesk email poll ACCOUNT`: a mailbox caught up in batches, a summary, clear refusals."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from civicdesk.channels.accounts import configure_account
from civicdesk.channels.adapters.email.tests.dovecot import Dovecot
from civicdesk.channels.adapters.email.tests.test_imap_polling import imap_account, letter
from civicdesk.channels.models import ChannelAccount, InboundPayload

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("email", *args, stdout=out)
    return out.getvalue()


def test_a_waiting_mailbox_is_caught_up_in_batches(riverton: Any, dovecot_server: Dovecot) -> None:
    for number in range(25):
        dovecot_server.append(letter(number))
    account = imap_account(dovecot_server, imap_batch_size=10)

    output = run("poll", "Help desk (IMAP)")

    lines = output.splitlines()
    assert "10 fetched, 15 waiting" in lines
    assert "20 fetched, 5 waiting" in lines
    assert "25 fetched, 0 waiting" in lines
    assert lines[-1] == "Help desk (IMAP): 25 new message(s) stored, 0 already held, none waiting."
    assert InboundPayload.objects.count() == 25
    account.refresh_from_db()
    assert account.poll_progress["fetched"] == 25
    assert account.poll_progress["waiting"] == 0

    # By uuid, again: nothing new.
    output = run("poll", str(account.uuid))
    assert output.splitlines()[-1] == (
        "Help desk (IMAP): 0 new message(s) stored, 0 already held, none waiting."
    )


def test_a_poll_that_fails_says_why(riverton: Any, dovecot_server: Dovecot) -> None:
    imap_account(dovecot_server, imap_password="wrong")
    with pytest.raises(CommandError) as refused:
        run("poll", "help desk (imap)")
    assert str(refused.value) == (
        "The poll stopped: ImapError: the server refused the sign-in of "
        "help@riverton.example: [AUTHENTICATIONFAILED] Authentication failed. "
        "(the next poll resumes here)"
    )


def test_unknown_and_smtp_only_accounts_are_refused(riverton: Any) -> None:
    with pytest.raises(CommandError, match="No email account is called 'Nobody'"):
        run("poll", "Nobody")
    account = ChannelAccount.objects.create(kind="email", name="Listener only")
    configure_account(account=account, values={"address": "help@riverton.example"})
    with pytest.raises(CommandError, match="has no IMAP server to poll"):
        run("poll", "Listener only")
    assert InboundPayload.objects.count() == 0


def test_the_admin_shows_how_far_the_catch_up_came(
    riverton: Any, dovecot_server: Dovecot, client: Any
) -> None:
    for number in range(3):
        dovecot_server.append(letter(number))
    account = imap_account(dovecot_server)
    run("poll", "Help desk (IMAP)")
    client.force_login(riverton.admin)
    page = client.get(f"/admin/contact_channels/channelaccount/{account.pk}/change/")
    assert page.status_code == 200
    assert b"Catch-up (last poll)" in page.content
    assert b"3 fetched (3 new), none waiting" in page.content
    listing = client.get("/admin/contact_channels/channelaccount/")
    assert b"3 fetched (3 new), none waiting" in listing.content
