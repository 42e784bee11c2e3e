"""Acknowledgements over real SMTP: a citizen's mail into `civicdesk smtpd`, the answer out to
the account's outbox folder (the file sink), read back as the citizen's client would.

The acknowledgement carries the reference and a status link that opens the case's page, in
the citizen's language; auto-replies, lists, our own mail and replies joining a case get none;
the same mail twice gets one.
"""

from __future__ import annotations

import re
import smtplib
import socket
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from civicdesk.cases.models import Case
from civicdesk.channels.listening import start_listener
from civicdesk.channels.models import InboundPayload, OutboundDelivery
from civicdesk.channels.services import ensure_account
from civicdesk.citizens.models import Citizen, ContactPoint

pytestmark = pytest.mark.django_db(transaction=True)

HELP = "help@riverton.example"
ANN = "ann.lee@example.org"
CORPUS = Path(__file__).parents[2] / "civicdesk/channels/adapters/email/tests/payloads"
LINK = re.compile(r"https?://\S+/requests/\S+/")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(autouse=True)
def language_kept() -> Iterator[None]:
    """A page asked for in Romanian leaves Romanian active in this thread (LocaleMiddleware
    does not switch back): the tests after these must not inherit it."""
    with translation.override(translation.get_language()):
        yield


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "mail-outbox"


@pytest.fixture
def port(riverton: Any, outbox: Path, settings: Any) -> Iterator[int]:
    settings.CIVICDESK_PUBLIC_URL = "https://portal.riverton.example"
    ensure_account(
        kind="email",
        name="Help desk",
        values={"address": HELP, "from_name": "Riverton", "outbox_dir": str(outbox)},
    )
    number = _free_port()
    listener = start_listener(kind="email", host="127.0.0.1", port=number)
    try:
        yield number
    finally:
        listener.stop()


def mail(
    body: str, *, sender: str = ANN, message_id: str = "m1@example.org", **headers: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = HELP
    message["Subject"] = headers.pop("Subject", "Lamp out on Elm Avenue")
    message["Message-ID"] = f"<{message_id}>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def send(port: int, message: EmailMessage | bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        if isinstance(message, bytes):
            assert smtp.sendmail("someone@example.net", [HELP], message) == {}
        else:
            assert smtp.send_message(message, to_addrs=[HELP]) == {}


def sent_mail(outbox: Path) -> list[EmailMessage]:
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(path.read_bytes()) for path in sorted(outbox.glob("*.eml"))]


def text_of(email: EmailMessage, subtype: str = "plain") -> str:
    part = email.get_body((subtype,))
    assert part is not None
    return str(part.get_content())


def status_path(text: str) -> str:
    found = LINK.search(text)
    assert found is not None, text
    return found.group(0).removeprefix("https://portal.riverton.example")


def test_a_new_mail_is_acknowledged_with_its_reference_and_a_working_status_link(
    port: int, outbox: Path
) -> None:
    send(port, mail("The lamp outside 3 Elm Avenue is out."))
    case = Case.objects.get()
    [ack] = sent_mail(outbox)
    assert ack["To"] == ANN
    assert ack["Auto-Submitted"] == "auto-generated"
    assert case.reference in str(ack["Subject"])
    text = text_of(ack)
    assert f"We have opened request {case.reference} for you." in text
    assert (
        "Our target for a first answer: " in text
    )  # Riverton's default policy sets a first response
    path = status_path(text)
    assert f'<a href="https://portal.riverton.example{path}">' in text_of(ack, "html")
    page = Client().get(path)
    assert page.status_code == 200
    assert case.reference in page.content.decode()
    assert "The lamp outside 3 Elm Avenue is out." in page.content.decode()
    delivery = OutboundDelivery.objects.get()
    assert (delivery.is_automatic, delivery.thread_reference) == (True, case.reference)


def test_a_romanian_citizen_is_acknowledged_in_romanian(port: int, outbox: Path) -> None:
    citizen = Citizen.objects.create(full_name="Ana Pop", preferred_language="ro")
    ContactPoint.objects.create(citizen=citizen, kind="email", value="ana.pop@example.ro")
    send(port, mail("Felinarul nu merge.", sender="Ana Pop <ana.pop@example.ro>"))
    case = Case.objects.get()
    [ack] = sent_mail(outbox)
    text = text_of(ack)
    assert f"Am primit solicitarea dumneavoastră {case.reference}" in str(ack["Subject"])
    assert f"Am deschis pentru dumneavoastră solicitarea {case.reference}." in text
    assert "Bună ziua, Ana Pop," in text
    page = Client().get(status_path(text), headers={"accept-language": "ro"})
    assert page.status_code == 200
    assert case.reference in page.content.decode()


@pytest.mark.parametrize("name", ["outlook_out_of_office.eml", "newsletter_list.eml"])
def test_auto_replies_and_lists_from_the_corpus_get_no_acknowledgement(
    port: int, outbox: Path, name: str
) -> None:
    send(port, (CORPUS / name).read_bytes())
    payload = InboundPayload.objects.get()
    assert payload.status == "processed"
    assert Case.objects.filter(reference=payload.result_reference).exists()
    assert sent_mail(outbox) == []
    assert OutboundDelivery.objects.count() == 0


def test_a_vacation_responder_marked_x_autoreply_gets_no_acknowledgement(
    port: int, outbox: Path
) -> None:
    send(port, mail("I am on holiday.", Subject="Out of office", X_Autoreply="yes"))
    assert Case.objects.count() == 1
    assert sent_mail(outbox) == []


def test_mail_from_our_own_address_is_ignored_and_never_answered(port: int, outbox: Path) -> None:
    send(port, mail("Echo of our own message.", sender=f"Riverton <{HELP}>"))
    assert InboundPayload.objects.get().status == "ignored"
    assert Case.objects.count() == 0
    assert sent_mail(outbox) == []


def test_a_reply_joining_the_case_gets_no_acknowledgement(port: int, outbox: Path) -> None:
    send(port, mail("The lamp is out."))
    [ack] = sent_mail(outbox)
    reply = mail("It flickers too.", message_id="m2@example.org", Subject=f"Re: {ack['Subject']}",
                 In_Reply_To=str(ack["Message-ID"]))  # fmt: skip
    reply.replace_header("To", str(ack["Reply-To"]))
    send(port, reply)
    assert Case.objects.count() == 1
    assert Case.objects.get().events.filter(body="It flickers too.").exists()
    assert len(sent_mail(outbox)) == 1


def test_the_same_mail_twice_is_acknowledged_once(port: int, outbox: Path) -> None:
    first = mail("Bin not emptied.", message_id="bin-1@example.org")
    send(port, first)
    send(port, first)  # a relay that retried after losing our 250
    assert Case.objects.count() == 1
    assert len(sent_mail(outbox)) == 1
