"""Bounces end to end over real SMTP: an agent's reply leaves through a real SMTP server, the
receiving side's report comes back into `civicdesk smtpd`, and the reply moves on.

Ann asked on the portal and then wrote by email, so her case has two ways back: email (her
latest) and the portal (her status page). A hard bounce fails the email, marks her address
undeliverable, says so on the case and sends the reply by the portal, and her next reply goes
there too until she writes from the address again. A soft bounce sends the email again.
"""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from civicdesk.cases.events import ReplyRerouted
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.presenters import Audience, present_timeline
from civicdesk.cases.selectors import timeline
from civicdesk.cases.services import reply_to_case
from civicdesk.channels.accounts import configure_account
from civicdesk.channels.adapters.email.tests.tls_sink import PASSWORD, USERNAME, TlsSink
from civicdesk.channels.listening import start_listener
from civicdesk.channels.models import (
    ChannelAccount,
    DeliveryFallback,
    DeliveryStatus,
    InboundPayload,
    OutboundDelivery,
    PayloadStatus,
    ReceiptRecord,
)
from civicdesk.channels.services import accept_inbound, ensure_account, retry_due_deliveries
from civicdesk.citizens.models import Citizen, ContactPoint
from civicdesk.core.clock import now
from tests.factories import portal_payload

pytestmark = pytest.mark.django_db(transaction=True)

ANN = "ann.lee@example.org"
HELP = "help@riverton.example"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[TlsSink]:
    with TlsSink(tmp_path, mode="starttls") as sink:
        yield sink


@pytest.fixture
def port(riverton: Any, relay: TlsSink) -> Iterator[int]:
    account = ensure_account(kind="email", name="Help desk", values={"address": HELP})
    configure_account(
        account=account,
        values={
            "address": HELP,
            "from_name": "Riverton City Hall",
            "smtp_host": "127.0.0.1",
            "smtp_port": relay.port,
            "smtp_username": USERNAME,
            "smtp_password": PASSWORD,
            "smtp_ca_file": str(relay.cert),
        },
    )
    number = _free_port()
    listener = start_listener(kind="email", host="127.0.0.1", port=number)
    try:
        yield number
    finally:
        listener.stop()


def send(port: int, message: EmailMessage | bytes, *, sender: str, to: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        raw = message if isinstance(message, bytes) else message.as_bytes()
        assert smtp.sendmail(sender, [to], raw) == {}


def mail(body: str, *, subject: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Ann Lee <{ANN}>"
    message["To"] = HELP
    message["Subject"] = subject
    message["Message-ID"] = f"<{message_id}>"
    message.set_content(body)
    return message


def anns_case(port: int) -> Case:
    """Asked on the portal, then wrote by email about it: email first, the portal next."""
    acceptance = accept_inbound(
        channel="portal",
        raw=portal_payload(email=ANN, name="Ann Lee", description="The lamp at 3 Elm is out."),
        process_now=True,
    )
    case = Case.objects.get(reference=acceptance.payload.result_reference)
    send(port, mail("Still out.", subject=f"[{case.reference}] Lamp", message_id="a1@example.org"),
         sender=ANN, to=HELP)  # fmt: skip
    assert CaseEvent.objects.filter(case=case, channel="email").count() == 1
    return case


def dsn(
    returned: Message,
    *,
    to: str,
    action: str = "failed",
    status: str = "5.1.1",
    diagnostic: str = "550 5.1.1 <ann.lee@example.org>: Recipient address rejected: User unknown",
    with_headers: bool = True,
) -> bytes:
    """The report a Postfix server sends back to the envelope sender of the message."""
    returned_part = ""
    if with_headers:
        headers = "".join(f"{name}: {value}\r\n" for name, value in returned.items())
        returned_part = f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\n{headers}\r\n"
    return (
        "From: MAILER-DAEMON@mail.example.org (Mail Delivery System)\r\n"
        f"To: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\nMessage-ID: <20261204.dsn@mail.example.org>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; "
        'boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mail.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; {ANN}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n\r\n"
        f"{returned_part}--b--\r\n"
    ).encode()


def sent_email(relay: TlsSink, index: int = -1) -> tuple[str, EmailMessage]:
    received = relay.handler.received[index]
    message = BytesParser(policy=policy.default).parsebytes(received.content)
    assert isinstance(message, EmailMessage)
    return received.mail_from, message


def titles(case: Case) -> list[str]:
    entries = present_timeline(timeline(case=case, public_only=False), audience=Audience.STAFF)
    return [entry.title for entry in entries]


@pytest.mark.parametrize("with_headers", [True, False], ids=["headers-returned", "token-only"])
def test_a_hard_bounce_moves_the_reply_to_the_next_channel_and_marks_the_address(
    port: int, relay: TlsSink, riverton: Any, client: Any, *, with_headers: bool
) -> None:
    case = anns_case(port)
    outcome = reply_to_case(case=case, author=riverton.ann, body="We will fix it on Friday.")
    assert outcome.channel == "email"
    mail_from, sent = sent_email(relay)
    delivery = OutboundDelivery.objects.get(channel="email")
    assert delivery.status == DeliveryStatus.SENT
    assert sent["Message-ID"] == f"<{delivery.provider_message_id}>"
    assert mail_from == f"help+{delivery.provider_message_id.split('@')[0]}@riverton.example"

    send(port, dsn(sent, to=mail_from, with_headers=with_headers), sender="", to=mail_from)

    # The report is stored and kept, opens no case and is answered by nothing.
    report = InboundPayload.objects.filter(channel="email").latest("id")
    assert b"Undelivered Mail Returned" in bytes(report.body)
    assert (report.status, report.result_reference, report.error) == (
        PayloadStatus.PROCESSED,
        "",
        "",
    )
    assert Case.objects.count() == 1
    assert len(relay.handler.received) == 1  # no acknowledgement of the bounce
    reason = (
        "The email to ann.lee@example.org bounced: 550 5.1.1 <ann.lee@example.org>: "
        "Recipient address rejected: User unknown"
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_state, delivery.last_error) == (
        DeliveryStatus.FAILED,
        "failed",
        reason,
    )
    assert ReceiptRecord.objects.get().applied is True
    point = ContactPoint.objects.get(kind="email", value=ANN)
    assert point.undeliverable_at is not None
    assert point.undeliverable_reason == reason
    # The same reply went by the portal (Ann's status page), and the case says why.
    fallback = DeliveryFallback.objects.get(from_delivery=delivery)
    assert fallback.to_delivery is not None
    assert (fallback.to_delivery.channel, fallback.to_delivery.body) == (
        "portal",
        "We will fix it on Friday.",
    )
    rerouted = CaseEvent.objects.get(case=case, kind=ReplyRerouted.kind).as_event()
    assert isinstance(rerouted, ReplyRerouted)
    assert (rerouted.bounced_recipient, rerouted.reason, rerouted.to_channel) == (
        ANN,
        reason,
        "portal",
    )
    assert "The email to ann.lee@example.org bounced; the reply went by Web portal" in titles(case)
    client.force_login(riverton.ann)
    page = client.get(f"/workspace/cases/{case.reference}/").content.decode()
    assert f'id="contact-undeliverable-{point.pk}">Undeliverable since' in page
    assert "User unknown. Replies go by the next channel" in page

    # The next reply skips the address; once Ann writes from it again, email is back.
    assert reply_to_case(case=case, author=riverton.ann, body="Friday it is.").channel == "portal"
    assert len(relay.handler.received) == 1
    send(port, mail("Fixed my mailbox.", subject=f"[{case.reference}] Lamp",
                    message_id="a2@example.org"), sender=ANN, to=HELP)  # fmt: skip
    cleared = ContactPoint.objects.get(pk=point.pk)
    assert (cleared.undeliverable_at, cleared.undeliverable_reason) == (None, "")
    assert reply_to_case(case=case, author=riverton.ann, body="Done.").channel == "email"
    assert len(relay.handler.received) == 2


def test_a_soft_bounce_sends_the_email_again_and_leaves_the_address(
    port: int, relay: TlsSink, riverton: Any
) -> None:
    case = anns_case(port)
    reply_to_case(case=case, author=riverton.ann, body="We will fix it on Friday.")
    mail_from, sent = sent_email(relay)
    delivery = OutboundDelivery.objects.get(channel="email")
    first_id = delivery.provider_message_id

    # A delay is no failure: nothing moves.
    send(port, dsn(sent, to=mail_from, action="delayed", status="4.4.1",
                   diagnostic="connect to mail.example.org: Connection timed out"),
         sender="", to=mail_from)  # fmt: skip
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_state) == (DeliveryStatus.SENT, "sent")

    send(port, dsn(sent, to=mail_from, status="4.2.2", diagnostic="452 4.2.2 Mailbox full"),
         sender="", to=mail_from)  # fmt: skip
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.last_error == (
        "The email to ann.lee@example.org could not be delivered for now: 452 4.2.2 Mailbox full"
    )
    assert delivery.next_attempt_at is not None
    assert delivery.next_attempt_at > now()
    assert ContactPoint.objects.get(kind="email", value=ANN).undeliverable_at is None
    assert not DeliveryFallback.objects.exists()

    # Its time comes: the same reply leaves again, as a new message.
    OutboundDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=now() - timedelta(seconds=1)
    )
    assert retry_due_deliveries() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)
    assert delivery.provider_message_id != first_id
    _, again = sent_email(relay)
    assert len(relay.handler.received) == 2
    assert again["Message-ID"] == f"<{delivery.provider_message_id}>"
    assert again.get_body(("plain",)).get_content().strip() == "We will fix it on Friday."  # type: ignore[union-attr]


def test_soft_bounces_past_the_attempt_limit_fail_the_reply_over_to_the_next_channel(
    port: int, relay: TlsSink, riverton: Any, settings: Any
) -> None:
    settings.CIVICDESK_DELIVERY_MAX_ATTEMPTS = 1
    case = anns_case(port)
    reply_to_case(case=case, author=riverton.ann, body="We will fix it on Friday.")
    mail_from, sent = sent_email(relay)
    send(port, dsn(sent, to=mail_from, status="4.2.2", diagnostic="452 4.2.2 Mailbox full"),
         sender="", to=mail_from)  # fmt: skip
    delivery = OutboundDelivery.objects.get(channel="email")
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error.endswith("Mailbox full (no more tries: 1 made)")
    assert DeliveryFallback.objects.get(from_delivery=delivery).to_delivery.channel == "portal"  # type: ignore[union-attr]
    # Not a hard bounce: the address stays usable for the next reply.
    assert ContactPoint.objects.get(kind="email", value=ANN).undeliverable_at is None


def test_a_bounce_for_another_accounts_message_moves_nothing(
    port: int, relay: TlsSink, riverton: Any
) -> None:
    # Before any mail: the listener reads its accounts once every few seconds.
    other = ChannelAccount.objects.create(kind="email", name="Parks")
    configure_account(account=other, values={"address": "parks@riverton.example"})
    case = anns_case(port)
    reply_to_case(case=case, author=riverton.ann, body="We will fix it on Friday.")
    _, sent = sent_email(relay)
    send(port, dsn(sent, to="parks@riverton.example"), sender="", to="parks@riverton.example")
    assert OutboundDelivery.objects.get(channel="email").status == DeliveryStatus.SENT
    record = ReceiptRecord.objects.get()
    assert (record.delivery_id, record.applied) == (None, False)
    assert ContactPoint.objects.get(kind="email", value=ANN).undeliverable_at is None


def test_an_agent_who_checked_the_address_lets_replies_take_it_again(
    port: int, relay: TlsSink, riverton: Any, client: Any
) -> None:
    case = anns_case(port)
    reply_to_case(case=case, author=riverton.ann, body="We will fix it on Friday.")
    mail_from, sent = sent_email(relay)
    send(port, dsn(sent, to=mail_from), sender="", to=mail_from)
    point = ContactPoint.objects.get(kind="email", value=ANN)
    assert point.undeliverable_at is not None
    client.force_login(riverton.ann)
    url = f"/workspace/cases/{case.reference}/contact-points/{point.pk}/deliverable/"
    page = client.get(f"/workspace/cases/{case.reference}/").content.decode()
    assert f'action="{url}"' in page
    assert f'id="contact-deliverable-{point.pk}">Mark {ANN} as deliverable</button>' in page

    # Someone else's point, or one not marked, is refused and nothing changes.
    other = ContactPoint.objects.create(
        citizen=riverton_citizen(), kind="email", value="zed@example.net"
    )
    refused = client.post(
        f"/workspace/cases/{case.reference}/contact-points/{other.pk}/deliverable/"
    )
    assert refused.status_code == 303
    assert ContactPoint.objects.get(pk=point.pk).undeliverable_at is not None

    answer = client.post(url)
    assert (answer.status_code, answer["Location"]) == (303, f"/workspace/cases/{case.reference}/")
    assert ContactPoint.objects.get(pk=point.pk).undeliverable_at is None
    assert f"Ann Abbott marked {ANN} as deliverable again: replies may take it" in titles(case)
    assert reply_to_case(case=case, author=riverton.ann, body="Done.").channel == "email"
    assert client.post(url).status_code == 303  # a second time: refused, nothing to restore
    assert (
        titles(case).count(f"Ann Abbott marked {ANN} as deliverable again: replies may take it")
        == 1
    )


def riverton_citizen() -> Citizen:
    return Citizen.objects.create(full_name="Zed")


def test_when_the_bounced_address_was_the_only_way_the_agent_is_told_so(
    port: int, relay: TlsSink, riverton: Any, client: Any
) -> None:
    send(port, mail("The lamp at 3 Elm is out.", subject="Lamp", message_id="o1@example.org"),
         sender=ANN, to=HELP)  # fmt: skip
    case = Case.objects.get()
    reply_to_case(case=case, author=riverton.ann, body="We will fix it on Friday.")
    mail_from, sent = sent_email(relay)
    send(port, dsn(sent, to=mail_from), sender="", to=mail_from)
    assert "The email to ann.lee@example.org bounced and no other channel can reach the " in (
        " ".join(titles(case))
    )
    client.force_login(riverton.ann)
    page = client.get(f"/workspace/cases/{case.reference}/").content.decode()
    assert (
        "This citizen can&#x27;t be reached by reply: mail to ann.lee@example.org bounced and "
        "no other channel reaches them — write to them or see them in person, and record a "
        "note, or mark the address deliverable once checked."
    ) in page
