"""`civicdesk smtpd` over real SMTP on loopback: stored before 250, 451 when it cannot store,
550 for addresses that are not ours, 552 over the account's size limit, and once only."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from civicdesk.channels.accounts import configure_account
from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.adapters.email.listener import SmtpListener
from civicdesk.channels.contracts import ListenerAccount, ListenerVerdict, RawPayload
from civicdesk.channels.listening import start_listener
from civicdesk.channels.models import ChannelAccount, InboundPayload

PAYLOADS = Path(__file__).parent / "payloads"
pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def email_account(name: str, **values: Any) -> ChannelAccount:
    account = ChannelAccount.objects.create(kind="email", name=name)
    configure_account(account=account, values=values)
    return account


@pytest.fixture
def smtp_port(riverton: Any) -> Iterator[int]:
    email_account("Help desk", address="help@riverton.example", aliases=["info@riverton.example"])
    email_account("Small", address="small@riverton.example", max_message_bytes=2048)
    port = free_port()
    listener = start_listener(kind="email", host="127.0.0.1", port=port)
    try:
        yield port
    finally:
        listener.stop()


def letter(*, to: str = "help@riverton.example", body: str = "The lamp is out.") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Ann Lee <ann@example.org>"
    message["To"] = to
    message["Subject"] = "Lamp out on Elm Avenue"
    message["Message-ID"] = "<lamp-1@example.org>"
    message.set_content(body)
    return message


def test_a_message_is_stored_before_it_is_accepted(smtp_port: int) -> None:
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
        refused = smtp.send_message(letter(), from_addr="ann@example.org")
    assert refused == {}
    payload = InboundPayload.objects.get()
    assert payload.channel == "email"
    assert payload.account is not None
    assert payload.account.name == "Help desk"
    assert payload.content_type == "message/rfc822"
    assert payload.headers["x-civicdesk-envelope-from"] == "ann@example.org"
    assert payload.headers["x-civicdesk-envelope-to"] == "help@riverton.example"
    assert b"The lamp is out." in bytes(payload.body)
    assert payload.status == "processed"  # the immediate task backend of the tests
    assert payload.result_reference  # a case (tests/flows/test_email.py follows it there)


def test_the_same_message_twice_and_to_two_of_our_addresses_is_stored_once(
    smtp_port: int,
) -> None:
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
        smtp.send_message(letter(), to_addrs=["help@riverton.example", "info@riverton.example"])
        smtp.send_message(letter(), to_addrs=["help@riverton.example"])
    assert InboundPayload.objects.count() == 1
    assert InboundPayload.objects.get().headers["x-civicdesk-envelope-to"] == (
        "help@riverton.example,info@riverton.example"
    )


def test_addresses_that_are_not_ours_are_refused_and_nothing_is_stored(smtp_port: int) -> None:
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.send_message(letter(to="someone@elsewhere.example"))
        code, text = refused.value.recipients["someone@elsewhere.example"]
        assert (code, text) == (550, b"5.1.1 No such mailbox here")
        # A reply tag on one of our addresses is ours.
        assert smtp.send_message(letter(to="help+riv-2026-000001.abc123@riverton.example")) == {}
    assert InboundPayload.objects.count() == 1


def test_a_message_over_the_accounts_limit_is_refused_with_552(smtp_port: int) -> None:
    big = letter(to="small@riverton.example", body="x" * 4000)
    with (
        smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp,
        pytest.raises(smtplib.SMTPDataError) as error,
    ):
        smtp.send_message(big)
    assert error.value.smtp_code == 552
    assert b"limit 2048 bytes" in error.value.smtp_error
    assert InboundPayload.objects.count() == 0


class _BrokenStore:
    """An intake whose store fails, as a database that is down would make it."""

    def __init__(self, *, raises: bool) -> None:
        self.raises = raises

    def account_for(self, identity: str) -> ListenerAccount | None:
        return ListenerAccount(account_id=1, config=EmailConfig(address=identity))

    def accept(self, raw: RawPayload, account: ListenerAccount) -> ListenerVerdict:
        if self.raises:
            raise ConnectionError("database is unreachable")
        return ListenerVerdict(stored=False, reason="the mailbox was just removed")


@pytest.mark.parametrize("raises", [True, False])
def test_a_store_that_fails_answers_451_so_the_sender_retries(raises: bool) -> None:
    port = free_port()
    listener = SmtpListener(host="127.0.0.1", port=port, intake=_BrokenStore(raises=raises))
    listener.start()
    try:
        with (
            smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp,
            pytest.raises(smtplib.SMTPDataError) as error,
        ):
            smtp.send_message(letter())
    finally:
        listener.stop()
    assert error.value.smtp_code == 451
    assert error.value.smtp_error[:33] == b"4.3.0 Could not store the message"


def test_a_corpus_message_sent_over_smtp_reads_as_recorded() -> None:
    """The bytes the listener hands over are the bytes that were sent (dot-stuffing undone)."""
    received: list[RawPayload] = []

    class Keep(_BrokenStore):
        def accept(self, raw: RawPayload, account: ListenerAccount) -> ListenerVerdict:
            received.append(raw)
            return ListenerVerdict(stored=True)

    port = free_port()
    listener = SmtpListener(host="127.0.0.1", port=port, intake=Keep(raises=False))
    listener.start()
    original = (PAYLOADS / "gmail_reply.eml").read_bytes().replace(b"\n", b"\r\n")
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.sendmail("ann@example.org", ["help@riverton.example"], original)
    finally:
        listener.stop()
    assert received[0].body == original
