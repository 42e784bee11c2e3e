# ruff: noqa: F811  (the fixtures are imported from the flow modules they belong to)
"""The same mail to two of our addresses, delivered separately, is one contact; a mail that
says no language is answered in the language it is written in."""

from __future__ import annotations

import time

import pytest

from civicdesk.cases.models import Case
from civicdesk.channels.models import OutboundDelivery
from civicdesk.channels.services import ensure_account
from tests.flows.test_email import HELP, mail, port, send  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_mail_to_two_of_our_accounts_in_two_deliveries_opens_one_case(port: int) -> None:
    ensure_account(kind="email", name="Info", values={"address": "info@riverton.example"})
    time.sleep(5.5)  # the listener re-reads its accounts every 5 s
    both = mail("Bin not emptied.", message_id="bin-9@example.org", to=HELP,
                Cc="info@riverton.example")  # fmt: skip
    # Each mailbox's server hands us its own copy (separate SMTP transactions), as happens
    # when the two addresses are hosted apart or polled from two IMAP mailboxes.
    send(port, both, HELP)
    send(port, both, "info@riverton.example")
    assert Case.objects.count() == 1
    assert OutboundDelivery.objects.filter(is_automatic=True).count() == 1


def test_a_romanian_mail_without_content_language_is_acknowledged_in_romanian(
    port: int,
) -> None:
    # Gmail and Thunderbird send no Content-Language header.
    text = "Bună ziua, becul de pe strada Ulmilor nu mai funcționează de luni. Mulțumesc!"
    send(port, mail(text, subject="Bec stricat pe strada Ulmilor", message_id="ro-1@example.ro"))
    ack = OutboundDelivery.objects.get(is_automatic=True)
    assert not ack.subject.startswith("We have received your request"), ack.subject
