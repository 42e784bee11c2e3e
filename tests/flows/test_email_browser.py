"""An agent answers an email case in a real browser, with a file; the reply leaves over SMTP as
a well-formed threaded email, and the citizen's answer to it, sent back over SMTP the way a mail
client writes it, lands on the same case with the quoted part folded away.

Everything is real and on loopback: `civicdesk smtpd`'s listener receives the citizen's mail,
an aiosmtpd relay with STARTTLS on a self-signed certificate (login required) receives ours,
CivicDesk is served over ASGI and Debian's Chromium drives the case page.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from civicdesk.cases.events import MessageReceived, ReplySent
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.channels.accounts import configure_account
from civicdesk.channels.adapters.email.tests.tls_sink import PASSWORD, USERNAME, TlsSink
from civicdesk.channels.listening import start_listener
from civicdesk.channels.models import ChannelAccount, DeliveryStatus, OutboundDelivery
from civicdesk.channels.services import ensure_account
from tests.browser import assert_accessible, free_port, sign_in_to_workspace
from tests.factories import PASSWORD as AGENT_PASSWORD
from tests.factories import build_riverton

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANN = "ann.lee@example.org"
HELP = "help@riverton.example"
# A small PDF-looking file with bytes that survive only an exact base64 round trip.
ROUTE_MAP = b"%PDF-1.4\n" + bytes(range(256)) + b"\r\n.\r\n%%EOF\n"


@pytest.fixture
def smtpd_port(live_asgi: str) -> Iterator[int]:
    """`civicdesk smtpd`'s listener on a free loopback port, on the test database."""
    port = free_port()
    listener = start_listener(kind="email", host="127.0.0.1", port=port)
    try:
        yield port
    finally:
        listener.stop()


def send(port: int, message: EmailMessage, *to: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        assert smtp.send_message(message, from_addr=ANN, to_addrs=list(to) or None) == {}


def part_text(email: Any, subtype: str) -> str:
    part = email.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())


def first_mail() -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Ann Lee <{ANN}>"
    message["To"] = HELP
    message["Subject"] = "Bin not emptied on Elm Avenue"
    message["Message-ID"] = "<bin-1@mail.example.org>"
    message.set_content("My green bin was not emptied on Tuesday.\n\nAnn")
    return message


def citizens_answer(sent: Any) -> EmailMessage:
    """Ann's answer as her mail client writes it: to the Reply-To, threaded on our Message-ID,
    "Re:" on our subject, and our text quoted under an attribution line."""
    ours = part_text(sent, "plain").replace("\r\n", "\n").strip()
    answer = EmailMessage()
    answer["From"] = f"Ann Lee <{ANN}>"
    answer["To"] = str(sent["Reply-To"])
    answer["Subject"] = f"Re: {sent['Subject']}"
    answer["Message-ID"] = "<bin-2@mail.example.org>"
    answer["In-Reply-To"] = str(sent["Message-ID"])
    answer["References"] = f"{sent['References']} {sent['Message-ID']}"
    quoted = "\n".join(f"> {line}" if line else ">" for line in ours.splitlines())
    answer.set_content(
        f"Thank you, I will look at the map.\n\nOn Fri, 4 Dec 2026, {sent['From']} wrote:\n"
        f"{quoted}\n"
    )
    return answer


def test_an_agents_reply_with_a_file_leaves_well_formed_and_the_answer_returns_to_the_case(
    live_asgi: str, browser: Any, smtpd_port: int, tmp_path: Path
) -> None:
    riverton = build_riverton()
    account = ensure_account(kind="email", name="Help desk", values={"address": HELP})
    with TlsSink(tmp_path, mode="starttls") as relay:
        configure_account(
            account=ChannelAccount.objects.get(pk=account.pk),
            values={
                "address": HELP,
                "from_name": "Riverton City Hall",
                "smtp_host": "127.0.0.1",
                "smtp_port": relay.port,
                "smtp_security": "starttls",
                "smtp_username": USERNAME,
                "smtp_password": PASSWORD,
                "smtp_ca_file": str(relay.cert),
            },
        )
        send(smtpd_port, first_mail())
        case = Case.objects.get()
        # The acknowledgement went out through the relay too; the agent's reply comes next.
        acknowledged = len(relay.handler.received)

        upload = tmp_path / "collection-route.pdf"
        upload.write_bytes(ROUTE_MAP)
        page = browser.new_context(base_url=live_asgi).new_page()
        page.goto("/workspace/login/")
        sign_in_to_workspace(page, riverton.ann.email, AGENT_PASSWORD)
        page.goto(f"/workspace/cases/{case.reference}/")
        assert "My green bin was not emptied on Tuesday." in page.inner_text("#timeline")
        assert_accessible(page)
        page.fill(
            "#reply-body", "Dear Ann,\n\nWe will empty it on Thursday; the route is attached."
        )
        page.set_input_files("#reply-form input[type=file]", str(upload))
        page.click("#reply-submit")
        page.wait_for_function(
            "document.getElementById('live-region').textContent.startsWith('Reply sent')"
        )
        reply = CaseEvent.objects.get(case=case, kind=ReplySent.kind)
        page.locator(f"#event-{reply.pk}").wait_for(timeout=5000)
        assert (
            page.locator(f"#event-{reply.pk} .attachments")
            .inner_text()
            .startswith("collection-route.pdf")
        )
        assert_accessible(page)
        delivered = relay.handler.received[acknowledged:]
        [acknowledgement] = [
            BytesParser(policy=policy.default).parsebytes(r.content)
            for r in relay.handler.received[:acknowledged]
        ]

    delivery = OutboundDelivery.objects.filter(
        thread_reference=case.reference, is_automatic=False
    ).get()
    assert delivery.status == DeliveryStatus.SENT, delivery.last_error
    [received] = delivered
    assert received.rcpt_tos == [ANN]
    sent = BytesParser(policy=policy.default).parsebytes(received.content)
    assert sent.defects == []
    assert sent.get_content_type() == "multipart/mixed"
    assert sent["From"] == "Riverton City Hall <help@riverton.example>"
    assert sent["To"] == ANN
    assert sent["Message-ID"] == f"<{delivery.provider_message_id}>"
    token = delivery.provider_message_id.split("@")[0]
    assert sent["Reply-To"] == f"help+{token}@riverton.example"
    # The envelope sender is the reply address too, so that a bounce names this message.
    assert received.mail_from == f"help+{token}@riverton.example"
    assert sent["Subject"] == f"[{case.reference}] Bin not emptied on Elm Avenue"
    # The thread's newest message is our acknowledgement; Ann's first mail is in References.
    assert sent["In-Reply-To"] == acknowledgement["Message-ID"]
    assert "<bin-1@mail.example.org>" in str(sent["References"]).split()
    assert sent["Date"]
    # Lines on the wire end in CRLF, as SMTP wants; the parser keeps them.
    plain = part_text(sent, "plain").splitlines()
    html = part_text(sent, "html")
    assert plain == ["Dear Ann,", "", "We will empty it on Thursday; the route is attached."]
    assert "<p>Dear Ann,</p>" in html
    assert "<p>We will empty it on Thursday; the route is attached.</p>" in html
    [attachment] = list(sent.iter_attachments())
    assert attachment.get_filename() == "collection-route.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == ROUTE_MAP

    send(smtpd_port, citizens_answer(sent), str(sent["Reply-To"]))
    assert Case.objects.count() == 1
    received_events = CaseEvent.objects.filter(case=case, kind=MessageReceived.kind).order_by("id")
    assert [event.body for event in received_events] == [
        "My green bin was not emptied on Tuesday.\n\nAnn",
        "Thank you, I will look at the map.",
    ]
    answer = received_events.last()
    assert answer is not None
    page = browser.new_context(base_url=live_asgi).new_page()
    page.goto("/workspace/login/")
    sign_in_to_workspace(page, riverton.ann.email, AGENT_PASSWORD)
    page.goto(f"/workspace/cases/{case.reference}/")
    folded = page.locator(f"#event-{answer.pk}-folded")
    assert not folded.locator(".event__quoted").is_visible()
    folded.locator("summary").click()
    assert "We will empty it on Thursday" in folded.locator(".event__quoted").inner_text()
