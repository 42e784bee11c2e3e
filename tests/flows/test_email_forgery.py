# ruff: noqa: F811  (the fixtures are imported from the flow modules they belong to)
"""Mail anybody could write in a citizen's name (a forged From, a forged bounce) changes
nothing about who receives the case's replies, or whether their address works."""

from __future__ import annotations

from typing import Any

import pytest

from civicdesk.cases.services import reply_to_case
from civicdesk.channels.adapters.email.tests.tls_sink import TlsSink
from civicdesk.citizens.models import Citizen, ContactPoint
from tests.flows.test_email_bounces import (  # noqa: F401  (fixtures)
    ANN,
    anns_case,
    port,
    relay,
    send,
    sent_email,
)

pytestmark = pytest.mark.django_db(transaction=True)

BOB = "bob.victim@example.net"


def forged_dsn(*, message_id: str, to: str, final_recipient: str) -> bytes:
    return (
        "From: MAILER-DAEMON@evil.example (Mail Delivery System)\r\n"
        f"To: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; "
        'boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nNope.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; evil.example\r\n\r\n"
        f"Final-Recipient: rfc822; {final_recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: <{message_id}>\r\n\r\n--b--\r\n"
    ).encode()


def test_a_recipient_cannot_mark_another_citizens_address_undeliverable_with_a_forged_bounce(
    port: int, relay: TlsSink, riverton: Any
) -> None:
    bob = Citizen.objects.create(full_name="Bob Victim")
    ContactPoint.objects.create(citizen=bob, kind="email", value=BOB)
    case = anns_case(port)
    reply_to_case(case=case, author=riverton.ann, body="We will fix it on Friday.")
    _, sent = sent_email(relay)
    # Ann holds the message she was sent, so she knows its Message-ID; she writes a "bounce"
    # about it naming Bob as the recipient that failed, from her own mail client.
    message_id = sent["Message-ID"].strip("<>")
    send(
        port,
        forged_dsn(message_id=message_id, to="help@riverton.example", final_recipient=BOB),
        sender=ANN,
        to="help@riverton.example",
    )
    assert ContactPoint.objects.get(kind="email", value=BOB).undeliverable_at is None


def test_a_forged_mail_in_the_citizens_name_cannot_copy_a_stranger_on_the_cases_replies(
    port: int, relay: TlsSink, riverton: Any
) -> None:
    case = anns_case(port)
    # Eve knows Ann's address and her case's reference (references are sequential). She
    # writes "From: Ann" about the case, copying herself.
    forged = (
        f"From: Ann Lee <{ANN}>\r\nTo: help@riverton.example\r\nCc: eve@evil.example\r\n"
        f"Subject: [{case.reference}] Lamp\r\nMessage-ID: <forged-cc@evil.example>\r\n\r\n"
        "Please keep my neighbour in copy.\r\n"
    ).encode()
    send(port, forged, sender="eve@evil.example", to="help@riverton.example")
    reply_to_case(case=case, author=riverton.ann, body="Your personal details: ...")
    received = relay.handler.received[-1]
    assert "eve@evil.example" not in received.rcpt_tos
