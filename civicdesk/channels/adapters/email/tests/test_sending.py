"""Replies leave as threaded multipart emails: to a real SMTP server on loopback (STARTTLS or
SMTPS on a self-signed certificate, with login), or into the outbox folder by default."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from civicdesk.channels.adapters.email import EmailAdapter
from civicdesk.channels.adapters.email.composing import compose, message_id_of
from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.adapters.email.envelope import Envelope
from civicdesk.channels.adapters.email.tests.tls_sink import (
    PASSWORD,
    USERNAME,
    TlsSink,
    free_port,
)
from civicdesk.channels.contracts import (
    DeliveryOutcome,
    OutgoingAttachment,
    OutgoingMessage,
    RawPayload,
)

HELP = "help@riverton.example"
REPLY = OutgoingMessage(
    channel="email",
    recipient="ann.lee@example.org",
    subject="Re: Bin not emptied",
    body="Dear Ann,\n\nWe will empty it on Thursday.\n\nRiverton City Hall",
    thread_reference="RIV-2026-000123",
    attachments=(OutgoingAttachment("route.pdf", "application/pdf", b"%PDF-1.4 route"),),
    thread_ids=(
        "<CAHk3qL7@mail.gmail.example>#054af0233324c703",
        "riv-2026-000123.00aa11bb22cc@riverton.example",
        "sha256:" + "0" * 48,
    ),
)


def part_text(email: Any, subtype: str) -> str:
    part = email.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())


def parse(data: bytes) -> Any:
    return BytesParser(policy=policy.default).parsebytes(data)


def relay_config(sink: TlsSink, **values: Any) -> EmailConfig:
    settings: dict[str, Any] = {
        "address": HELP,
        "from_name": "Riverton City Hall",
        "smtp_host": "127.0.0.1",
        "smtp_port": sink.port,
        "smtp_security": "starttls",
        "smtp_username": USERNAME,
        "smtp_password": SecretStr(PASSWORD),
        "smtp_ca_file": str(sink.cert),
        "smtp_timeout_seconds": 10,
    }
    settings.update(values)
    return EmailConfig(**settings)


@pytest.fixture
def starttls(tmp_path: Path) -> Iterator[TlsSink]:
    with TlsSink(tmp_path, mode="starttls") as sink:
        yield sink


def test_a_reply_is_composed_threaded_with_text_html_and_attachments() -> None:
    at = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    email = compose(
        REPLY, EmailConfig(address=HELP, from_name="Riverton City Hall"), token="t.1", at=at
    )
    assert email["From"] == "Riverton City Hall <help@riverton.example>"
    assert email["To"] == "ann.lee@example.org"
    assert email["Reply-To"] == "help+t.1@riverton.example"
    assert email["Subject"] == "[RIV-2026-000123] Re: Bin not emptied"
    assert email["Message-ID"] == "<t.1@riverton.example>"
    assert email["Date"] == "Thu, 03 Dec 2026 09:30:00 +0000"
    assert email["In-Reply-To"] == "<riv-2026-000123.00aa11bb22cc@riverton.example>"
    assert email["References"] == (
        "<CAHk3qL7@mail.gmail.example> <riv-2026-000123.00aa11bb22cc@riverton.example>"
    )
    assert email["Auto-Submitted"] is None
    assert part_text(email, "plain").startswith("Dear Ann,\n\nWe will empty")
    assert "<p>Dear Ann,</p>" in part_text(email, "html")
    [attachment] = list(email.iter_attachments())
    assert (attachment.get_filename(), attachment.get_content()) == ("route.pdf", b"%PDF-1.4 route")


def test_automatic_messages_say_so_and_escape_their_text() -> None:
    automatic = OutgoingMessage(
        channel="email", recipient="a@example.org", body="<b>RIV-1</b> & more", is_automatic=True
    )
    email = compose(automatic, EmailConfig(address=HELP), token="t.2", at=datetime.now(UTC))
    assert email["Auto-Submitted"] == "auto-generated"
    assert email["X-Auto-Response-Suppress"] == "All"
    assert "&lt;b&gt;RIV-1&lt;/b&gt; &amp; more" in part_text(email, "html")


def test_provider_ids_give_back_their_message_ids() -> None:
    assert message_id_of("<a@b.example>#0123abcd") == "a@b.example"
    assert message_id_of("t.1@riverton.example") == "t.1@riverton.example"
    assert message_id_of("sha256:" + "0" * 48) == ""


def test_sent_over_starttls_with_login_and_the_citizens_reply_threads_back(
    starttls: TlsSink,
) -> None:
    result = EmailAdapter().send(REPLY, relay_config(starttls))
    assert result.outcome is DeliveryOutcome.SENT, result.error
    [received] = starttls.handler.received
    token = result.provider_message_id.split("@")[0]
    # The envelope sender is the reply address: a bounce comes back to it, naming the message.
    assert (received.mail_from, received.rcpt_tos) == (
        f"help+{token}@riverton.example",
        ["ann.lee@example.org"],
    )
    sent = parse(received.content)
    assert sent["Message-ID"] == f"<{result.provider_message_id}>"
    assert token.startswith("riv-2026-000123.")
    assert len(token) == len("riv-2026-000123.") + 12
    assert sent["Reply-To"] == f"help+{token}@riverton.example"
    # The citizen's client answers: both its In-Reply-To and the reply address lead back.
    answer = (
        f"From: ann.lee@example.org\r\nTo: {sent['Reply-To']}\r\nSubject: Re: {sent['Subject']}\r\n"
        f"Message-ID: <a1@example.org>\r\nIn-Reply-To: {sent['Message-ID']}\r\n"
        f"References: {sent['References']} {sent['Message-ID']}\r\n\r\nThanks!\r\n"
    ).encode()
    message = EmailAdapter().parse_inbound(
        RawPayload(answer, "message/rfc822", Envelope(None, (sent["Reply-To"],)).to_headers())
    )
    assert message.in_reply_to_ids[0] == result.provider_message_id
    assert message.reply_address_token == token
    assert message.case_reference == "RIV-2026-000123"


def test_sent_over_smtps(tmp_path: Path) -> None:
    with TlsSink(tmp_path, mode="tls") as sink:
        result = EmailAdapter().send(REPLY, relay_config(sink, smtp_security="tls"))
        assert result.outcome is DeliveryOutcome.SENT, result.error
        assert len(sink.handler.received) == 1


def test_a_wrong_password_or_an_untrusted_certificate_fails_permanently_and_says_why(
    starttls: TlsSink,
) -> None:
    wrong = EmailAdapter().send(REPLY, relay_config(starttls, smtp_password=SecretStr("nope")))
    assert wrong.outcome is DeliveryOutcome.PERMANENT_FAILURE
    assert wrong.error.startswith("the server refused the login of 'civicdesk': 535")
    untrusted = EmailAdapter().send(REPLY, relay_config(starttls, smtp_ca_file=""))
    assert untrusted.outcome is DeliveryOutcome.PERMANENT_FAILURE
    assert "TLS certificate is not trusted" in untrusted.error
    assert starttls.handler.received == []


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ("451 4.2.0 Mailbox busy, try later", DeliveryOutcome.TEMPORARY_FAILURE),
        ("550 5.1.1 No such user", DeliveryOutcome.PERMANENT_FAILURE),
    ],
)
def test_the_servers_refusal_decides_temporary_or_permanent(
    starttls: TlsSink, answer: str, outcome: DeliveryOutcome
) -> None:
    starttls.handler.rcpt_answer = answer
    result = EmailAdapter().send(REPLY, relay_config(starttls))
    assert result.outcome is outcome
    assert result.error == f"the server refused ann.lee@example.org: {answer}"


def test_a_server_that_does_not_answer_is_a_temporary_failure() -> None:
    config = EmailConfig(address=HELP, smtp_host="127.0.0.1", smtp_port=free_port())
    result = EmailAdapter().send(REPLY, config)
    assert result.outcome is DeliveryOutcome.TEMPORARY_FAILURE
    assert result.error.startswith("could not reach 127.0.0.1:")


def test_without_a_server_the_message_is_written_to_the_outbox(tmp_path: Path) -> None:
    result = EmailAdapter().send(REPLY, EmailConfig(address=HELP, outbox_dir=str(tmp_path)))
    assert result.outcome is DeliveryOutcome.SENT
    [written] = list(tmp_path.glob("*.eml"))
    assert written.name.endswith(f"-{result.provider_message_id.split('@')[0]}.eml")
    assert parse(written.read_bytes())["Message-ID"] == f"<{result.provider_message_id}>"
    assert EmailAdapter().send(REPLY, EmailConfig()).outcome is DeliveryOutcome.PERMANENT_FAILURE


def test_copies_go_in_cc_and_to_every_envelope_recipient(starttls: TlsSink) -> None:
    copied = OutgoingMessage(
        channel="email",
        recipient="ann.lee@example.org",
        body="Hello",
        copy_to=("ann.lee@example.org", "bo@example.net", "cy@example.net"),
    )
    email = compose(copied, EmailConfig(address=HELP), token="t.3", at=datetime.now(UTC))
    assert email["Cc"] == "bo@example.net, cy@example.net"
    result = EmailAdapter().send(copied, relay_config(starttls))
    assert result.outcome is DeliveryOutcome.SENT, result.error
    assert starttls.handler.received[0].rcpt_tos == [
        "ann.lee@example.org",
        "bo@example.net",
        "cy@example.net",
    ]
