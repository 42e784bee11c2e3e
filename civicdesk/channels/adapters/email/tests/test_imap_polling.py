"""IMAP polling against a real Dovecot on loopback: the corpus APPENDed, polled, turned into
cases; flags left on the server as configured; nothing stored twice, whatever happens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from civicdesk.channels.accounts import configure_account
from civicdesk.channels.adapters.email.tests.dovecot import Dovecot, TokenEndpoint, require_dovecot
from civicdesk.channels.contracts import PollProgress
from civicdesk.channels.models import ChannelAccount, InboundPayload, PayloadStatus
from civicdesk.channels.services import PollReport, poll_account, poll_accounts

PAYLOADS = Path(__file__).parent / "payloads"
CORPUS = sorted(PAYLOADS.glob("*.eml"))
pytestmark = pytest.mark.django_db(transaction=True)


def imap_account(server: Dovecot, name: str = "Help desk (IMAP)", **values: Any) -> ChannelAccount:
    account = ChannelAccount.objects.create(kind="email", name=name)
    settings = {
        "address": "help@riverton.example",
        "imap_host": "127.0.0.1",
        "imap_port": server.port,
        "imap_security": "none",
        "imap_username": server.username,
        "imap_password": server.password,
        **values,
    }
    configure_account(account=account, values=settings)
    return account


def letter(number: int) -> bytes:
    return (
        f"From: Ann Lee <ann{number}@example.org>\r\n"
        "To: help@riverton.example\r\n"
        f"Subject: Lamp {number} out on Elm Avenue\r\n"
        f"Message-ID: <lamp-{number}@example.org>\r\n"
        "Date: Thu, 03 Dec 2026 09:00:00 +0000\r\n\r\n"
        f"Lamp number {number} has been out since Monday.\r\n"
    ).encode()


def cursor_of(account: ChannelAccount) -> dict[str, int]:
    account.refresh_from_db()
    return dict(json.loads(account.poll_cursor))


def test_the_corpus_is_imported_into_cases_and_marked_read(
    riverton: Any, dovecot_server: Dovecot
) -> None:
    uids = [dovecot_server.append(path.read_bytes()) for path in CORPUS]
    account = imap_account(dovecot_server)

    report = poll_accounts()

    assert report == PollReport(accounts_polled=1, payloads_stored=len(CORPUS), errors=0)
    stored = list(InboundPayload.objects.order_by("id"))
    assert len(stored) == len(CORPUS)
    by_uid = {payload.headers["x-civicdesk-imap-uid"].split(":")[1]: payload for payload in stored}
    assert sorted(map(int, by_uid)) == uids
    for path, uid in zip(CORPUS, uids, strict=True):
        payload = by_uid[str(uid)]
        # As the server keeps it: lines end in CRLF, whatever the file's line ends.
        assert bytes(payload.body) == path.read_bytes().replace(b"\r\n", b"\n").replace(
            b"\n", b"\r\n"
        )
        assert payload.content_type == "message/rfc822"
        assert payload.account_id == account.pk
        expected = json.loads(path.with_suffix(".expected.json").read_text())
        if expected["error"]:  # the message without a sender: stored, failed, replayable
            assert payload.status == PayloadStatus.FAILED
            assert expected["error"] in payload.error
            assert payload.provider_message_id  # named by its bytes: fetched again, held once
        elif expected["message"] is None:  # the bounce: kept for the record, no case
            assert payload.status == PayloadStatus.PROCESSED
            assert payload.result_reference == ""
        else:
            assert payload.status == PayloadStatus.PROCESSED, (path.name, payload.error)
            assert payload.result_reference.startswith("RIV-")
            assert payload.provider_message_id == expected["message"]["provider_message_id"]
    # Every stored message is marked read on the server, the broken one too.
    assert dovecot_server.flags() == {uid: {"\\Seen"} for uid in uids}
    assert cursor_of(account) == {
        "uidvalidity": dovecot_server.uidvalidity(),
        "last_uid": uids[-1],
    }
    account.refresh_from_db()
    assert account.last_poll_error == ""
    assert account.poll_progress["fetched"] == len(CORPUS)
    assert account.poll_progress["waiting"] == 0
    assert account.poll_progress["done"] is True
    assert account.poll_lease_until is None

    # Polled again: nothing new, nothing twice. A new message: only it.
    assert poll_accounts().payloads_stored == 0
    new_uid = dovecot_server.append(letter(1))
    assert poll_accounts().payloads_stored == 1
    assert InboundPayload.objects.count() == len(CORPUS) + 1
    assert dovecot_server.flags()[new_uid] == {"\\Seen"}
    assert cursor_of(account)["last_uid"] == new_uid


def test_imported_mail_moves_to_the_processed_folder(
    riverton: Any, dovecot_server: Dovecot
) -> None:
    for number in range(3):
        dovecot_server.append(letter(number))
    imap_account(
        dovecot_server, imap_after_import="move", imap_processed_folder="CivicDesk-imported"
    )
    assert poll_accounts().payloads_stored == 3
    assert dovecot_server.flags() == {}
    assert len(dovecot_server.flags("CivicDesk-imported")) == 3
    assert poll_accounts().payloads_stored == 0


def test_left_untouched_the_mail_keeps_its_flags_and_is_fetched_once(
    riverton: Any, dovecot_server: Dovecot
) -> None:
    unread = dovecot_server.append(letter(1))
    flagged = dovecot_server.append(letter(2), flags="(\\Flagged)")
    imap_account(dovecot_server, imap_after_import="leave")
    assert poll_accounts().payloads_stored == 2
    assert dovecot_server.flags() == {unread: set(), flagged: {"\\Flagged"}}
    assert poll_accounts().payloads_stored == 0
    assert InboundPayload.objects.count() == 2


def test_a_renumbered_folder_is_read_again_and_nothing_is_stored_twice(
    riverton: Any, dovecot_server: Dovecot
) -> None:
    dovecot_server.append(letter(1))
    dovecot_server.append((PAYLOADS / "no_sender.eml").read_bytes())
    account = imap_account(dovecot_server, imap_after_import="leave")
    assert poll_accounts().payloads_stored == 2
    old = cursor_of(account)

    dovecot_server.set_uidvalidity(old["uidvalidity"] + 1000)
    dovecot_server.append(letter(2))
    # The folder is read from its start: the two already held (the broken one included,
    # named by its bytes) are recognised; only the new message is stored.
    assert poll_accounts().payloads_stored == 1
    assert InboundPayload.objects.count() == 3
    assert cursor_of(account) == {"uidvalidity": old["uidvalidity"] + 1000, "last_uid": 3}


def test_a_server_that_goes_away_mid_poll_is_retried_from_the_last_batch(
    riverton: Any, dovecot_server: Dovecot
) -> None:
    uids = [dovecot_server.append(letter(number)) for number in range(6)]
    account = imap_account(dovecot_server, imap_batch_size=2)
    heard: list[PollProgress] = []

    def stop_after_the_first_batch(progress: PollProgress) -> None:
        heard.append(progress)
        if progress.fetched == 2:
            dovecot_server.stop()

    result = poll_account(account=account, on_progress=stop_after_the_first_batch)

    assert heard == [PollProgress(0, 0, 6), PollProgress(2, 2, 4)]
    assert result.progress == PollProgress(fetched=2, stored=2, waiting=4)
    assert result.error.startswith("ImapError: the connection to 127.0.0.1:")
    account.refresh_from_db()
    assert account.last_poll_error == result.error
    assert account.poll_progress["done"] is False
    assert account.poll_lease_until is None
    assert json.loads(account.poll_cursor)["last_uid"] == uids[1]
    assert InboundPayload.objects.count() == 2

    # While it is down: refused, recorded, nothing lost.
    refused = poll_accounts()
    assert (refused.payloads_stored, refused.errors) == (0, 1)
    account.refresh_from_db()
    assert "refused the connection" in account.last_poll_error

    dovecot_server.start()
    assert poll_accounts() == PollReport(accounts_polled=1, payloads_stored=4, errors=0)
    assert InboundPayload.objects.count() == 6
    ids = list(InboundPayload.objects.values_list("provider_message_id", flat=True))
    assert len(set(ids)) == len(ids) == 6
    assert dovecot_server.flags() == {uid: {"\\Seen"} for uid in uids}
    account.refresh_from_db()
    assert account.last_poll_error == ""


def test_imaps_and_starttls_poll_over_the_servers_certificate(
    riverton: Any, dovecot_server: Dovecot
) -> None:
    dovecot_server.append(letter(1))
    imap_account(
        dovecot_server,
        name="IMAPS",
        imap_security="tls",
        imap_port=dovecot_server.tls_port,
        imap_ca_file=str(dovecot_server.cert),
        imap_after_import="leave",
    )
    imap_account(
        dovecot_server,
        name="STARTTLS",
        address="info@riverton.example",
        imap_security="starttls",
        imap_ca_file=str(dovecot_server.cert),
        imap_after_import="leave",
    )
    assert poll_accounts() == PollReport(accounts_polled=2, payloads_stored=2, errors=0)


def test_a_certificate_not_trusted_is_a_recorded_error(
    riverton: Any, dovecot_server: Dovecot
) -> None:
    dovecot_server.append(letter(1))
    account = imap_account(dovecot_server, imap_security="tls", imap_port=dovecot_server.tls_port)
    assert poll_accounts().errors == 1
    account.refresh_from_db()
    assert "certificate of 127.0.0.1" in account.last_poll_error
    assert "is not trusted" in account.last_poll_error
    assert InboundPayload.objects.count() == 0


def test_an_oauth2_token_signs_in_with_xoauth2(riverton: Any) -> None:
    require_dovecot()
    with (
        TokenEndpoint(tokens={"ya29.valid"}) as endpoint,
        Dovecot(oauth2_url=endpoint.url) as server,
    ):
        server.append(letter(1))
        account = imap_account(
            server, imap_password=None, imap_oauth2_token="ya29.expired", imap_after_import="leave"
        )
        assert poll_accounts().errors == 1
        account.refresh_from_db()
        assert account.last_poll_error.startswith(
            f"ImapError: the server refused the sign-in of {server.username}"
        )
        configure_account(
            account=account, values={**account.config, "imap_oauth2_token": "ya29.valid"}
        )
        assert poll_accounts().payloads_stored == 1
        assert endpoint.asked == ["ya29.expired", "ya29.valid"]


def test_a_message_over_the_size_limit_stays_on_the_server(
    riverton: Any, dovecot_server: Dovecot
) -> None:
    small = dovecot_server.append(letter(1))
    big = dovecot_server.append(letter(2) + b"x" * 4096 + b"\r\n")
    account = imap_account(dovecot_server, max_message_bytes=2048)
    assert poll_accounts().payloads_stored == 2  # the small one, and the big one's headers
    account.refresh_from_db()
    assert account.last_poll_error == (
        "ImapError: 1 message(s) over the account's size limit (2048 bytes) were left in "
        f"INBOX, untouched (UIDs {big})"
    )
    assert dovecot_server.flags() == {small: {"\\Seen"}, big: set()}
    assert json.loads(account.poll_cursor)["last_uid"] == big
    assert poll_accounts().errors == 0  # said once
    trace = InboundPayload.objects.get(provider_message_id__startswith="over-limit:")
    assert trace.headers["x-civicdesk-imap-uid"] == f"{dovecot_server.uidvalidity()}:{big}"
    assert trace.status == PayloadStatus.FAILED
    size = len(letter(2)) + 4096 + 2
    assert trace.error == (
        f"Invalid payload: the message is {size} bytes, over the account's size limit of 2048 "
        "bytes: only its headers were stored, and it was left on the mail server untouched "
        f"(IMAP UID {big}). Raise the account's size limit: the next poll then imports it whole, "
        "as a payload of its own."
    )
    assert bytes(trace.body).startswith(b"From: Ann Lee <ann2@example.org>")
    assert b"x" * 10 not in bytes(trace.body)  # the headers alone
    assert (trace.provider_message_id or "").startswith("over-limit:")


def test_raising_the_size_limit_imports_the_message_left_over_it(
    riverton: Any, dovecot_server: Dovecot
) -> None:
    big = dovecot_server.append(letter(2) + b"x" * 4096 + b"\r\n")
    account = imap_account(dovecot_server, max_message_bytes=2048)
    poll_accounts()
    account.refresh_from_db()
    assert json.loads(account.poll_cursor)["over_limit"] == {str(big): len(letter(2)) + 4098}
    later = dovecot_server.append(letter(3))

    configure_account(account=account, values={**account.config, "max_message_bytes": 8192})
    report = poll_accounts()

    assert report == PollReport(accounts_polled=1, payloads_stored=2, errors=0)
    whole = InboundPayload.objects.exclude(provider_message_id__startswith="over-limit:")
    assert sorted(bytes(payload.body) for payload in whole) == [
        letter(2) + b"x" * 4096 + b"\r\n",
        letter(3),
    ]
    assert all(payload.status == PayloadStatus.PROCESSED for payload in whole)
    assert dovecot_server.flags() == {big: {"\\Seen"}, later: {"\\Seen"}}
    assert cursor_of(account) == {"uidvalidity": dovecot_server.uidvalidity(), "last_uid": later}
    assert poll_accounts().payloads_stored == 0


def test_a_message_over_the_size_limit_stays_visible_after_the_next_poll(
    riverton: Any, dovecot_server: Dovecot
) -> None:
    """Review: the issue asks that a huge message be "stored, flagged with a clear reason, and
    replayable". The poll skips it, moves the cursor past it and clears the error on the next
    poll: CivicDesk then holds no trace of it at all."""
    dovecot_server.append(letter(2) + b"x" * 4096 + b"\r\n")
    account = imap_account(dovecot_server, max_message_bytes=2048)
    poll_accounts()
    poll_accounts()
    account.refresh_from_db()
    flagged = InboundPayload.objects.filter(account=account).exclude(error="")
    assert account.last_poll_error != "" or flagged.exists()
