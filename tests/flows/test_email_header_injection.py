# ruff: noqa: F811  (the fixtures are imported from the flow modules they belong to)
"""A line break in a case's subject injects no header and stops no email reply."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from typing import Any

import pytest

from civicdesk.cases.models import Case
from civicdesk.cases.services import reply_to_case
from civicdesk.channels.adapters.email.tests.tls_sink import TlsSink
from civicdesk.channels.models import DeliveryStatus, OutboundDelivery
from civicdesk.channels.services import accept_inbound
from tests.factories import portal_payload
from tests.flows.test_email_bounces import (  # noqa: F401  (fixtures)
    ANN,
    HELP,
    mail,
    port,
    relay,
    send,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_subject_with_a_line_break_neither_injects_a_header_nor_stops_email_replies(
    port: int, relay: TlsSink, riverton: Any
) -> None:
    # A portal request whose subject holds CR/LF (a hand-made POST; nothing strips them).
    acceptance = accept_inbound(
        channel="portal",
        raw=portal_payload(email=ANN, subject="Bin\r\nBcc: evil@evil.example"),
        process_now=True,
    )
    case = Case.objects.get(reference=acceptance.payload.result_reference)
    assert "\n" in case.subject
    send(port, mail("Any news?", subject=f"[{case.reference}] Bin", message_id="b1@example.org"),
         sender=ANN, to=HELP)  # fmt: skip
    outcome = reply_to_case(case=case, author=riverton.ann, body="We will come on Friday.")
    assert outcome.channel == "email"
    delivery = OutboundDelivery.objects.get(channel="email", is_automatic=False)
    [sent] = [
        BytesParser(policy=policy.default).parsebytes(m.content)
        for m in relay.handler.received
        if b"We will come on Friday." in m.content
    ]
    # The line break became a space in the subject's text: no header was added by it.
    assert sent["Bcc"] is None
    assert sent["Subject"] == f"[{case.reference}] Bin Bcc: evil@evil.example"
    assert all(m.rcpt_tos == [ANN] for m in relay.handler.received)
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.SENT, "")
