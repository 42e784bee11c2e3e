"""The SMTP 250 waits only for the message stored on its headers; the worker reads it in full.

With the workers' ingest loop (the database task backend, as `make run` and production run),
`civicdesk smtpd` stores each message on the email adapter's sketch (Message-ID, content
digest, sender) and answers 250: CivicDesk's full reading of the message (`read_email`) must not
run before that answer (a cost contract, checked with a spy on it). The worker then reads it,
opens the case and acknowledges it. Exactly-once, the own-address rule, the rate limit and
bounces keep working on that path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from civicdesk.cases.models import Case
from civicdesk.channels.adapters.email import adapter as email_adapter
from civicdesk.channels.adapters.email import reading
from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.adapters.email.imap_polling import payload_of
from civicdesk.channels.contracts import InboundMessage
from civicdesk.channels.models import (
    ChannelAccount,
    DeliveryStatus,
    InboundPayload,
    OutboundDelivery,
    PayloadStatus,
)
from civicdesk.channels.receiving import accept_stored
from civicdesk.channels.services import process_waiting
from tests.flows.test_email import ANN, HELP, mail, port, send

__all__ = ["port"]  # the fixture: a real `civicdesk smtpd` listener on loopback

pytestmark = pytest.mark.django_db(transaction=True)

CORPUS = Path(email_adapter.__file__).parent / "tests" / "payloads"


@pytest.fixture
def full_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Every full read of a message by the email adapter (in the listener's thread or here)."""
    calls: list[bytes] = []
    real = reading.read_email

    def spy(raw: bytes, **kwargs: Any) -> InboundMessage:
        calls.append(raw)
        return real(raw, **kwargs)

    monkeypatch.setattr(email_adapter, "read_email", spy)
    with override_settings(TASK_BACKEND="database"):
        yield calls


def test_mail_is_stored_received_unread_then_the_worker_opens_and_acknowledges_the_case(
    port: int, full_reads: list[bytes]
) -> None:
    send(port, mail("The lamp outside 3 Elm Avenue is out."))
    stored = InboundPayload.objects.get()
    assert stored.status == PayloadStatus.RECEIVED
    assert stored.provider_message_id is not None
    assert stored.provider_message_id.startswith("<lamp-1@example.org>#")
    assert stored.sender_identity == f"email:{ANN}"
    assert full_reads == []  # the 250 came before any full read
    assert Case.objects.count() == 0

    assert process_waiting() == 1
    assert len(full_reads) >= 1
    stored.refresh_from_db()
    case = Case.objects.get()
    assert (stored.status, stored.result_reference) == (PayloadStatus.PROCESSED, case.reference)
    acknowledgement = OutboundDelivery.objects.get(recipient=ANN)
    assert case.reference in acknowledgement.subject + acknowledgement.body


def test_an_smtp_retry_and_an_imap_fetch_of_the_same_mail_create_nothing_twice(
    port: int, full_reads: list[bytes]
) -> None:
    message = mail("Bin not emptied.", message_id="bin-1@example.org")
    send(port, message)
    send(port, message)  # a relay that retried after losing our 250
    assert InboundPayload.objects.count() == 1
    assert process_waiting() == 1
    send(port, message)  # again once processed
    # The same mail fetched from the account's mailbox, as a poll stores it.
    account = ChannelAccount.objects.get(kind="email")
    fetched = payload_of(message.as_bytes(), EmailConfig(address=HELP), uid="7")
    assert accept_stored(channel="email", raw=fetched, account=account).is_duplicate
    assert process_waiting() == 0
    assert (InboundPayload.objects.count(), Case.objects.count()) == (1, 1)


def test_mail_without_a_message_id_is_one_message_however_often_it_comes(
    port: int, full_reads: list[bytes]
) -> None:
    message = mail("No id here.")
    del message["Message-ID"]
    send(port, message)
    assert process_waiting() == 1
    send(port, message)
    stored = InboundPayload.objects.get()
    assert stored.provider_message_id is not None
    assert stored.provider_message_id.startswith("sha256:")
    assert Case.objects.count() == 1


def test_mail_from_our_own_address_is_stored_ignored(port: int, full_reads: list[bytes]) -> None:
    send(port, mail("An echo of ours.", sender=HELP, to=ANN), HELP)
    stored = InboundPayload.objects.get()
    assert stored.status == PayloadStatus.IGNORED
    assert process_waiting() == 0
    assert Case.objects.count() == 0


@override_settings(CIVICDESK_INBOUND_RATE_LIMIT=2, CIVICDESK_INBOUND_RATE_WINDOW_SECONDS=60)
def test_a_sender_over_the_rate_limit_is_held(port: int, full_reads: list[bytes]) -> None:
    for n in range(3):
        send(port, mail(f"Message {n}", message_id=f"m-{n}@example.org"))
    statuses = list(InboundPayload.objects.order_by("id").values_list("status", flat=True))
    assert statuses == [PayloadStatus.RECEIVED, PayloadStatus.RECEIVED, PayloadStatus.THROTTLED]
    assert full_reads == []


@pytest.mark.parametrize(
    "bounce",
    [
        # A delivery status report says so in its headers: stored without the citizen's read.
        ("bounce_report.eml", "case-riv-2026-000123.3@riverton.example", "nobody@example.net", 0),
        # A bounce written as plain mail needs the full read to be told from a citizen's mail.
        (
            "bounce_plain_qmail.eml",
            "riv-2026-000987.1234567890ab@riverton.example",
            "vera.lungu@example.info",
            1,
        ),
    ],
)
def test_a_bounce_is_matched_to_its_delivery_and_stored_as_receipts(
    port: int, full_reads: list[bytes], bounce: tuple[str, str, str, int]
) -> None:
    name, our_id, recipient, read_in_full = bounce
    account = ChannelAccount.objects.get(kind="email")
    sent = OutboundDelivery.objects.create(
        channel="email",
        account=account,
        recipient=recipient,
        body="We will send someone.",
        status=DeliveryStatus.SENT,
        provider_message_id=our_id,
    )
    raw = (CORPUS / name).read_bytes()
    report = payload_of(raw, EmailConfig(address=HELP), uid="1")
    stored = accept_stored(channel="email", raw=report, account=account).payload
    # Never left to the worker as a citizen's message: receipts, kept as processed.
    assert stored.status == PayloadStatus.PROCESSED
    assert len(full_reads) == read_in_full
    sent.refresh_from_db()
    assert sent.status == DeliveryStatus.FAILED
    assert process_waiting() == 0
    assert Case.objects.count() == 0
    # Fetched again: one payload, nothing recorded twice.
    assert accept_stored(channel="email", raw=report, account=account).is_duplicate


def test_a_message_the_full_read_refuses_is_failed_with_its_reason(
    port: int, full_reads: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message that sketches but that the worker cannot read (here the adapter's reader
    refuses it, as a bug would): stored, then failed with the reason, replayable."""
    from civicdesk.channels.contracts import InvalidPayload
    from civicdesk.channels.services import replay_payload

    send(port, mail("Unreadable to the worker."))
    real = reading.read_email

    def refusing(raw: bytes, **kwargs: Any) -> InboundMessage:
        raise InvalidPayload("the reader refused it")

    monkeypatch.setattr(email_adapter, "read_email", refusing)
    assert process_waiting() == 1
    failed = InboundPayload.objects.get()
    assert (failed.status, failed.error) == (
        PayloadStatus.FAILED,
        "Invalid payload: the reader refused it",
    )
    monkeypatch.setattr(email_adapter, "read_email", real)  # the reader is fixed
    assert replay_payload(payload_id=failed.pk).status == PayloadStatus.PROCESSED
    assert Case.objects.count() == 1
