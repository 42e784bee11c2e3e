"""Email end to end over real SMTP: a citizen writes, replies from any client join the same case.

`civicdesk smtpd`'s listener runs on loopback; messages are sent with smtplib as a mail server
would relay them. The first test sends an agent's reply through a real SMTP server (STARTTLS,
login) and answers it; the others stand in for a message we sent by its delivery record: its
provider id is the Message-ID our reply carried, `<token>@riverton.example`, and its reply
address was `help+<token>@riverton.example`.
"""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicdesk.accounts.services import create_api_token
from civicdesk.cases.events import CaseFollowedUp, FollowUpOpened, MessageReceived
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.services import reply_to_case
from civicdesk.channels.accounts import configure_account
from civicdesk.channels.adapters.email.tests.tls_sink import PASSWORD, USERNAME, TlsSink
from civicdesk.channels.contracts import RawPayload
from civicdesk.channels.listening import start_listener
from civicdesk.channels.models import (
    ChannelAccount,
    DeliveryStatus,
    InboundPayload,
    OutboundDelivery,
)
from civicdesk.channels.services import accept_inbound, ensure_account
from civicdesk.core.clock import now

pytestmark = pytest.mark.django_db(transaction=True)

ANN = "ann.lee@example.org"
HELP = "help@riverton.example"
TOKEN = "riv-2026-000001.0a1b2c3d4e5f"
OUR_ID = f"{TOKEN}@riverton.example"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def port(riverton: Any) -> Iterator[int]:
    ensure_account(kind="email", name="Help desk", values={"address": HELP})
    number = _free_port()
    listener = start_listener(kind="email", host="127.0.0.1", port=number)
    try:
        yield number
    finally:
        listener.stop()


def mail(
    body: str,
    *,
    sender: str = ANN,
    subject: str = "Lamp out on Elm Avenue",
    message_id: str = "lamp-1@example.org",
    to: str = HELP,
    **headers: str,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{message_id}>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def send(port: int, message: EmailMessage, *to: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        assert smtp.send_message(message, to_addrs=list(to) or None) == {}


def part_text(email: Any, subtype: str) -> str:
    part = email.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())


def messages_on(case: Case) -> list[str]:
    return list(
        CaseEvent.objects.filter(case=case, kind=MessageReceived.kind)
        .order_by("id")
        .values_list("body", flat=True)
    )


def first_case(port: int) -> Case:
    send(port, mail("The lamp outside 3 Elm Avenue is out.\n\n-- \nAnn Lee"))
    case = Case.objects.get()
    sent = OutboundDelivery.objects.create(
        channel="email",
        account=ChannelAccount.objects.get(kind="email"),
        recipient=ANN,
        subject=f"[{case.reference}] Lamp out on Elm Avenue",
        body="We will send someone.",
        thread_reference=case.reference,
        status=DeliveryStatus.SENT,
        provider_message_id=OUR_ID,
    )
    assert sent.pk
    return case


def test_an_agents_reply_leaves_threaded_and_the_citizens_answer_returns_to_the_case(
    port: int, riverton: Any, tmp_path: Any
) -> None:
    with TlsSink(tmp_path, mode="starttls") as relay:
        configure_account(
            account=ChannelAccount.objects.get(kind="email"),
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
        send(port, mail("The lamp outside 3 Elm Avenue is out.", Cc="Bo <bo@example.net>"), HELP)
        case = Case.objects.get()
        reply_to_case(case=case, author=riverton.ann, body="We will fix it on Friday.")
        acknowledgement, received = relay.handler.received
    assert b"Auto-Submitted: auto-generated" in acknowledgement.content
    sent = BytesParser(policy=policy.default).parsebytes(received.content)
    # The neighbour she copied is a participant of the case and receives the reply too.
    assert received.rcpt_tos == [ANN, "bo@example.net"]
    assert sent["Cc"] == "bo@example.net"
    assert sent["From"] == "Riverton City Hall <help@riverton.example>"
    assert sent["Subject"] == f"[{case.reference}] Lamp out on Elm Avenue"
    # The thread so far: her mail, then our acknowledgement, which the reply answers.
    acknowledged = BytesParser(policy=policy.default).parsebytes(acknowledgement.content)
    assert sent["In-Reply-To"] == acknowledged["Message-ID"]
    assert str(sent["References"]).split() == ["<lamp-1@example.org>", acknowledged["Message-ID"]]
    assert part_text(sent, "plain").splitlines() == ["We will fix it on Friday."]
    delivery = OutboundDelivery.objects.get(is_automatic=False)
    assert sent["Message-ID"] == f"<{delivery.provider_message_id}>"

    # The citizen answers from a client that keeps the headers, then from one that keeps
    # only the reply address and drops the reference from the subject.
    send(port, mail("Thank you!\n\n> We will fix it on Friday.", subject=f"Re: {sent['Subject']}",
                    message_id="a1@example.org", to=str(sent["Reply-To"]),
                    In_Reply_To=str(sent["Message-ID"])))  # fmt: skip
    send(port, mail("Still dark on Saturday.", subject="lamp", message_id="a2@example.org",
                    to=str(sent["Reply-To"])))  # fmt: skip
    assert Case.objects.count() == 1
    assert messages_on(case) == [
        "The lamp outside 3 Elm Avenue is out.",
        "Thank you!",
        "Still dark on Saturday.",
    ]


def test_a_citizens_mail_opens_a_case_with_only_the_new_text(
    port: int, riverton: Any, client: Any
) -> None:
    case = first_case(port)
    assert (case.channel, case.subject) == ("email", "Lamp out on Elm Avenue")
    assert str(case.citizen.contact_points.get().value) == ANN
    assert messages_on(case) == ["The lamp outside 3 Elm Avenue is out."]
    # The agent sees the new text, and the folded signature one click away.
    client.force_login(riverton.ann)
    page = client.get(f"/workspace/cases/{case.reference}/").content.decode()
    assert "<p>The lamp outside 3 Elm Avenue is out.</p>" in page
    assert (
        "<summary>Show quoted text and signature</summary>"
        '<div class="event__quoted"><p>-- <br>Ann Lee</p></div></details>'
    ) in page


def test_replies_by_message_id_reply_address_or_own_thread_join_the_case(port: int) -> None:
    case = first_case(port)
    quoted = "\n\nOn Mon, 30 Nov 2026, Riverton <help@riverton.example> wrote:\n> We will send"
    # Gmail: In-Reply-To and References name our message; no reference in the subject.
    send(
        port,
        mail(
            "Still dark." + quoted,
            subject="Re: Lamp out",
            message_id="r1@example.org",
            In_Reply_To=f"<{OUR_ID}>",
            References=f"<lamp-1@example.org> <{OUR_ID}>",
        ),
    )
    # A phone client that drops the headers: the reply address carries the token.
    send(
        port,
        mail(
            "Any news?",
            subject="lamp",
            message_id="r2@example.org",
            to=f"help+{TOKEN}@riverton.example",
        ),
    )
    # Ann answers her own first message ("I forgot to say"): an id she chose, and she is known.
    send(
        port,
        mail(
            "It flickers too.",
            subject="Re: Lamp out",
            message_id="r3@example.org",
            In_Reply_To="<lamp-1@example.org>",
        ),
    )
    # A reply to our message from someone it was forwarded to joins too, as the id proves.
    send(port, mail("I live next door, same here.", sender="bo@example.net", subject="Re: Lamp",
                    message_id="r4@example.net", In_Reply_To=f"<{OUR_ID}>"))  # fmt: skip
    assert Case.objects.count() == 1
    assert messages_on(case) == [
        "The lamp outside 3 Elm Avenue is out.",
        "Still dark.",
        "Any news?",
        "It flickers too.",
        "I live next door, same here.",
    ]
    # The neighbour did not become one of Ann's addresses.
    assert [p.value for p in case.citizen.contact_points.all()] == [ANN]


def test_a_reference_or_an_earlier_id_joins_only_from_a_sender_known_on_the_case(
    port: int,
) -> None:
    case = first_case(port)
    send(port, mail("Also the bench.", subject=f"Re: [{case.reference}] Lamp", message_id="k1@x"))
    send(port, mail("Mine too?", sender="eve@example.net", subject=f"[{case.reference}]",
                    message_id="e1@example.net"))  # fmt: skip
    send(port, mail("Me again", sender="eve@example.net", subject="Re: Lamp",
                    message_id="e2@example.net", In_Reply_To="<lamp-1@example.org>"))  # fmt: skip
    assert messages_on(case) == ["The lamp outside 3 Elm Avenue is out.", "Also the bench."]
    others = Case.objects.exclude(pk=case.pk).order_by("id")
    assert [messages_on(other) for other in others] == [["Mine too?"], ["Me again"]]
    assert {other.citizen_id for other in others} != {case.citizen_id}


def test_a_reply_to_a_closed_case_reopens_it_within_the_window_else_opens_a_linked_one(
    port: int, riverton: Any, client: Any
) -> None:
    case = first_case(port)
    closed = {"status": "closed", "resolved_at": now() - timedelta(days=3)}
    Case.objects.filter(pk=case.pk).update(**closed)
    send(port, mail("It went out again.", subject="Re: Lamp", message_id="c1@example.org",
                    In_Reply_To=f"<{OUR_ID}>"))  # fmt: skip
    case.refresh_from_db()
    assert case.status == "reopened"
    assert messages_on(case)[-1] == "It went out again."

    long_ago = now() - timedelta(days=31)
    Case.objects.filter(pk=case.pk).update(
        status="closed", resolved_at=long_ago, last_activity_at=long_ago
    )
    send(port, mail("Out again, months later.", subject="Re: Lamp", message_id="c2@example.org",
                    In_Reply_To=f"<{OUR_ID}>"))  # fmt: skip
    case.refresh_from_db()
    assert case.status == "closed"
    assert case.follows_id is None
    new = Case.objects.exclude(pk=case.pk).get()
    assert new.citizen_id == case.citizen_id
    assert new.follows_id == case.pk
    assert messages_on(new) == ["Out again, months later."]
    # Both timelines say so, and each case page links to the other.
    [link] = new.events.filter(kind=FollowUpOpened.kind)
    assert (link.data["reference"], link.data["follows"]) == (new.reference, case.reference)
    [earlier] = case.events.filter(kind=CaseFollowedUp.kind)
    assert earlier.data["follow_up"] == new.reference
    assert earlier.data["status"] == "closed"
    client.force_login(riverton.ann)
    old_page = client.get(f"/workspace/cases/{case.reference}/").content.decode()
    new_page = client.get(f"/workspace/cases/{new.reference}/").content.decode()
    assert (
        f'<a href="/workspace/cases/{new.reference}/" id="follow-up-{new.reference}">'
        f"{new.reference}</a>"
    ) in old_page
    assert (
        f"The citizen wrote again after the case closed: follow-up {new.reference} opened"
        in old_page
    )
    assert (
        f'<a href="/workspace/cases/{case.reference}/" id="follows-{case.reference}">'
        f"{case.reference}</a>"
    ) in new_page
    assert f"Opened as a follow-up of {case.reference}, closed too long ago to reopen" in new_page
    assert 'id="summary-follows"' not in old_page
    assert 'id="summary-follow-ups"' not in new_page
    token = create_api_token(email=riverton.supervisor.email, name="crm").key
    api = {"Authorization": f"Bearer {token}"}
    old_detail = client.get(f"/api/v1/cases/{case.reference}", headers=api).json()
    new_detail = client.get(f"/api/v1/cases/{new.reference}", headers=api).json()
    assert (old_detail["follows"], old_detail["follow_ups"]) == (None, [new.reference])
    assert (new_detail["follows"], new_detail["follow_ups"]) == (case.reference, [])


def test_what_was_left_out_of_a_message_is_said_on_the_case(
    port: int, riverton: Any, client: Any
) -> None:
    message = mail("Photo of the lamp.")
    message.add_attachment(b"MZ fake", maintype="application", subtype="octet-stream",
                           filename="lamp.exe")  # fmt: skip
    send(port, message)
    case = Case.objects.get()
    client.force_login(riverton.ann)
    page = client.get(f"/workspace/cases/{case.reference}/").content.decode()
    assert "<li>Left out lamp.exe: files of this kind can carry programs.</li>" in page


def test_the_same_message_twice_or_to_two_of_our_addresses_creates_nothing_twice(
    port: int,
) -> None:
    ensure_account(kind="email", name="Info", values={"address": "info@riverton.example"})
    first = mail("Bin not emptied.", message_id="bin-1@example.org")
    send(port, first)
    send(port, first)  # a relay that retried after losing our 250
    both = mail("Bin not emptied, again.", message_id="bin-2@example.org", to=HELP)
    send(port, both, HELP, "info@riverton.example")
    assert InboundPayload.objects.count() == 2
    assert Case.objects.count() == 2


def test_an_out_of_office_reply_joins_the_case_and_is_marked_automated(port: int) -> None:
    case = first_case(port)
    send(port, mail("I am away until Monday.", subject="Automatic reply: Lamp out",
                    message_id="ooo@example.org", In_Reply_To=f"<{OUR_ID}>",
                    Auto_Submitted="auto-replied"))  # fmt: skip
    assert messages_on(case)[-1] == "I am away until Monday."
    assert Case.objects.count() == 1
    # Ours and the first mail's acknowledgement; nothing answered the auto-reply.
    assert OutboundDelivery.objects.filter(is_automatic=False).count() == 1
    assert OutboundDelivery.objects.filter(is_automatic=True).count() == 1


CORPUS = sorted(
    (Path(__file__).parents[2] / "civicdesk/channels/adapters/email/tests/payloads").glob("*.eml")
)


@pytest.mark.django_db(transaction=False)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    source=st.sampled_from(CORPUS),
    edits=st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=6)), max_size=5),
    noise=st.binary(max_size=300),
)
def test_any_mail_becomes_a_case_or_a_stored_flagged_payload(
    riverton: Any, source: Path, edits: list[tuple[float, bytes]], noise: bytes
) -> None:
    """Mutated real messages and noise, through the framework: stored, then a case or a
    failure with its reason; nothing raises, nothing is lost."""
    account = ensure_account(kind="email", name="Help desk", values={"address": HELP})
    data = bytearray(source.read_bytes())
    for position, insert in edits:
        at = int(position * len(data))
        data[at : at + len(insert)] = insert
    envelope = {"x-civicdesk-envelope-to": HELP, "x-civicdesk-envelope-from": "x@example.org"}
    for body in (bytes(data), noise):
        before = InboundPayload.objects.count()
        acceptance = accept_inbound(
            channel="email",
            raw=RawPayload(body=body, content_type="message/rfc822", headers=envelope),
            account=account,
            process_now=True,
        )
        payload = acceptance.payload
        payload.refresh_from_db()
        assert InboundPayload.objects.count() == before + (0 if acceptance.is_duplicate else 1)
        assert bytes(payload.body) == body or acceptance.is_duplicate
        if payload.status == "processed" and payload.result_reference:
            assert Case.objects.filter(reference=payload.result_reference).exists()
        elif payload.status == "failed":
            assert payload.error
        else:
            assert payload.status in {"processed", "throttled", "ignored"}, payload.status
