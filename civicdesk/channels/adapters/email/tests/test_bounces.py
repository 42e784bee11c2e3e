"""Bounces read into receipts: the corpus's reports (Postfix, Exim, Microsoft, Gmail, a delay, a
soft failure, a report without our headers, a plain-text bounce), each asserted beside its
expected file, and the mail that must not be taken for a bounce."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from civicdesk.channels.adapters.email import EmailAdapter
from civicdesk.channels.adapters.email.envelope import Envelope
from civicdesk.channels.contracts import DeliveryReceipt, NoMessage, RawPayload, ReceiptState
from civicdesk.channels.testing import load_recorded

PAYLOADS = Path(__file__).parent / "payloads"


def receipts(name: str) -> tuple[DeliveryReceipt, ...]:
    raw, _ = load_recorded(PAYLOADS / f"{name}.eml")
    with pytest.raises(NoMessage):
        EmailAdapter().parse_inbound(raw)  # a bounce never becomes a case
    return EmailAdapter().parse_receipt(raw)


@pytest.mark.parametrize(
    ("name", "provider_id", "recipient", "diagnostic"),
    [
        (
            "bounce_postfix_hard",
            "riv-2026-000123.4f2a9c0d1e7b@riverton.example",
            "ann.lee@example.org",
            "550 5.1.1 <ann.lee@example.org>: Recipient address rejected: User unknown in "
            "virtual mailbox table",
        ),
        (
            "bounce_exim_hard",
            "riv-2026-000456.0a1b2c3d4e5f@riverton.example",
            "dan.moss@example.com",
            "550 5.1.1 <dan.moss@example.com>: No such user here",
        ),
        (
            "bounce_outlook_hard",
            "riv-2026-000789.9f8e7d6c5b4a@riverton.example",
            "maria.ionescu@outlook.example",
            "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        ),
        (
            "bounce_headers_missing",  # no returned headers: the token of the address it came to
            "riv-2026-000654.abcdef012345@riverton.example",
            "ion.pop@example.net",
            "550 Requested action not taken: mailbox unavailable",
        ),
        (
            "bounce_plain_qmail",  # no report at all: our Message-ID quoted, a 550 in the text
            "riv-2026-000987.1234567890ab@riverton.example",
            "vera.lungu@example.info",
            "550 5.1.1 <vera.lungu@example.info>... User unknown",
        ),
    ],
)
def test_a_hard_bounce_fails_the_message_and_the_address(
    name: str, provider_id: str, recipient: str, diagnostic: str
) -> None:
    assert receipts(name) == (
        DeliveryReceipt(
            provider_message_id=provider_id,
            state=ReceiptState.FAILED,
            error=f"The email to {recipient} bounced: {diagnostic}",
            permanent=True,
            recipient_unreachable=True,
            recipient=recipient,
        ),
    )


def test_gmails_folded_diagnostic_is_read_as_one_line() -> None:
    [receipt] = receipts("bounce_gmail_hard")
    assert receipt.provider_message_id == "riv-2026-000321.00ff11ee22dd@riverton.example"
    assert receipt.recipient == "sam.okafor@gmail.example"
    assert (receipt.state, receipt.permanent, receipt.recipient_unreachable) == (
        ReceiptState.FAILED,
        True,
        True,
    )
    assert receipt.error.startswith(
        "The email to sam.okafor@gmail.example bounced: 550-5.1.1 The email account that you "
        "tried to reach does not exist. Please try 550-5.1.1 double-checking"
    )
    assert "\n" not in receipt.error


def test_a_delay_is_no_failure() -> None:
    assert receipts("bounce_delayed") == (
        DeliveryReceipt(
            provider_message_id="riv-2026-000123.4f2a9c0d1e7b@riverton.example",
            state=ReceiptState.SENT,
            error=(
                "Delayed: the receiving server is still trying to deliver to "
                "ann.lee@example.org: connect to mail.example.org[192.0.2.25]:25: Connection "
                "timed out"
            ),
            permanent=False,
            recipient="ann.lee@example.org",
        ),
    )


def test_a_soft_bounce_is_temporary_and_leaves_the_address_alone() -> None:
    """Exim's generic 4.0.0 is sharpened by the server's own 4.2.2 (mailbox full)."""
    assert receipts("bounce_soft_mailbox_full") == (
        DeliveryReceipt(
            provider_message_id="riv-2026-000456.0a1b2c3d4e5f@riverton.example",
            state=ReceiptState.FAILED,
            error=(
                "The email to dan.moss@example.com could not be delivered for now: 452 4.2.2 "
                "<dan.moss@example.com>: Mailbox full"
            ),
            permanent=False,
            recipient="dan.moss@example.com",
        ),
    )


def report(status: str, diagnostic: str, *, recipient: str = "ann@example.org") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.org\r\nTo: help@riverton.example\r\n"
        "Subject: Undelivered Mail\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "Message-ID: <riv-1.0a1b2c3d4e5f@riverton.example>\r\n"
        "--b--\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("status", "diagnostic", "unreachable"),
    [
        ("5.7.1", "550 5.7.1 Message rejected as spam", False),
        ("5.3.4", "552 5.3.4 Message size exceeds fixed limit", False),
        ("5.2.1", "550 5.2.1 Mailbox disabled", True),
        ("5.4.4", "550 5.4.4 Unable to route: no MX for the domain", True),
        ("5.0.0", "550 No such user", True),
    ],
)
def test_a_policy_or_content_refusal_fails_the_message_but_not_the_address(
    status: str, diagnostic: str, unreachable: bool
) -> None:
    [receipt] = EmailAdapter().parse_receipt(RawPayload(body=report(status, diagnostic)))
    assert (receipt.state, receipt.permanent) == (ReceiptState.FAILED, True)
    assert receipt.recipient_unreachable is unreachable
    assert receipt.error == f"The email to ann@example.org bounced: {diagnostic}"


def citizen_mail(body: str, *, sender: str = "ann@example.org") -> RawPayload:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "help@riverton.example"
    message["Subject"] = "Your reply bounced?"
    message["Message-ID"] = "<x-1@example.org>"
    message.set_content(body)
    return RawPayload(body=message.as_bytes(), headers=Envelope(sender=sender).to_headers())


def test_a_citizen_quoting_a_550_and_our_message_is_a_message_not_a_bounce() -> None:
    raw = citizen_mail(
        "My other address said 550 5.1.1 user unknown.\n\n"
        "Message-ID: <riv-1.0a1b2c3d4e5f@riverton.example>\n"
    )
    message = EmailAdapter().parse_inbound(raw)
    assert message.body.startswith("My other address said 550")
    assert EmailAdapter().parse_receipt(raw) == ()


def test_a_daemons_mail_naming_no_message_of_ours_is_no_bounce() -> None:
    raw = citizen_mail("550 mailbox unavailable", sender="mailer-daemon@mx.example.org")
    assert EmailAdapter().parse_inbound(raw).is_automated
    assert EmailAdapter().parse_receipt(raw) == ()


def test_a_report_about_a_copy_names_the_copy() -> None:
    [receipt] = EmailAdapter().parse_receipt(
        RawPayload(body=report("5.1.1", "550 5.1.1 unknown", recipient="bo@example.net"))
    )
    assert receipt.recipient == "bo@example.net"


def test_unreadable_reports_have_no_receipts() -> None:
    broken = report("5.1.1", "550").replace(b"message/delivery-status", b"text/plain")
    assert EmailAdapter().parse_receipt(RawPayload(body=broken)) == ()
    assert EmailAdapter().parse_receipt(RawPayload(body=b"\xff\xfe\x00garbage")) == ()


def machine_mail(body: str, *, sender: str = "no-reply@example.org") -> RawPayload:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "help@riverton.example"
    message["Subject"] = "Out of office"
    message["Message-ID"] = "<ooo-1@example.org>"
    message.set_content(body)
    return RawPayload(body=message.as_bytes(), headers=Envelope(sender="").to_headers())


def test_an_out_of_office_quoting_our_message_and_a_number_is_no_bounce() -> None:
    raw = machine_mail(
        "I am away until Monday; for urgent matters call 0722 500 100.\n\n"
        "Message-ID: <riv-1.0a1b2c3d4e5f@riverton.example>\n"
    )
    assert EmailAdapter().parse_inbound(raw).is_automated
    assert EmailAdapter().parse_receipt(raw) == ()


def test_an_old_style_transcript_bounce_is_read_by_its_words_and_code() -> None:
    raw = machine_mail(
        "The original message could not be delivered.\n\n"
        "   ----- Transcript of session follows -----\n"
        "550 <ion@example.net>... User unknown\n\n"
        "Message-ID: <riv-1.0a1b2c3d4e5f@riverton.example>\n",
        sender="MAILER-DAEMON@old.example.net",
    )
    with pytest.raises(NoMessage):
        EmailAdapter().parse_inbound(raw)
    [receipt] = EmailAdapter().parse_receipt(raw)
    assert (receipt.provider_message_id, receipt.permanent, receipt.recipient_unreachable) == (
        "riv-1.0a1b2c3d4e5f@riverton.example",
        True,
        True,
    )
    assert (
        receipt.error == "The email to the recipient bounced: 550 <ion@example.net>... User unknown"
    )
