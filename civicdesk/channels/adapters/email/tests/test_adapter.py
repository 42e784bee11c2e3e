"""The email adapter on a corpus of messages shaped like real clients' (see payloads/).

Each `<name>.eml` is replayed against `<name>.expected.json` (the whole reading, exactly); the
tests below also state, per client, the facts an agent relies on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from civicdesk.channels.adapters.email import EmailAdapter
from civicdesk.channels.contracts import InboundMessage, InvalidPayload, NoMessage, RawPayload
from civicdesk.channels.testing import AdapterTestBase, load_recorded

PAYLOADS = Path(__file__).parent / "payloads"


def read(name: str) -> InboundMessage:
    raw, _ = load_recorded(PAYLOADS / f"{name}.eml")
    return EmailAdapter().parse_inbound(raw)


def emails(message: InboundMessage) -> list[str]:
    return [contact.value for contact in message.participants]


class TestEmailAdapter(AdapterTestBase):
    adapter_class = EmailAdapter

    def test_send_succeeds(self, provider: object) -> None:
        pytest.skip("test_sending.py sends to real SMTP servers and to the outbox folder")


def test_every_payload_has_its_expected_reading() -> None:
    names = sorted(path.stem for path in PAYLOADS.glob("*.eml"))
    expected = sorted(path.name.removesuffix(".expected.json") for path in PAYLOADS.glob("*.json"))
    assert names == expected
    assert len(names) >= 15


def test_gmail_reply_folds_signature_and_history_and_carries_every_thread_key() -> None:
    message = read("gmail_reply")
    assert message.body == (
        "Hello,\n\nThe bin outside number 14 still has not been emptied – it is now\n"
        "overflowing onto the pavement.\n\nThanks,\nAnn"
    )
    assert message.quoted_text.startswith("-- \nAnn Lee\n14 Mill Road, Riverton\n\nOn Mon, 30 Nov")
    assert message.quoted_text.endswith("> Riverton City Hall\n>")
    assert message.in_reply_to_ids == (
        "case-riv-2026-000123.2@riverton.example",
        "case-riv-2026-000123.1@riverton.example",
    )
    assert message.reply_address_token == "riv-2026-000123.4f2a9c0d1e7b"
    assert message.case_reference == "RIV-2026-000123"
    assert message.recipient == "help@riverton.example"
    assert message.participants == ()
    assert message.provider_message_id == (
        "<CAHk3qL7+Yt0xw=Vb2nR8q@mail.gmail.example>#054af0233324c703"
    )


def test_outlook_romanian_reply_in_windows_1250_folds_the_header_block() -> None:
    message = read("outlook_reply_windows1250")
    assert message.body == (
        "Bună ziua,\n\nGroapa de pe strada Morii este tot acolo. Vă rog să trimiteţi pe "
        "cineva.\n\nMulţumesc,\nMaria Ionescu"
    )
    assert message.quoted_text.splitlines()[:3] == [
        "________________________________",
        "De la: Primăria Riverton <help@riverton.example>",
        "Trimis: luni, 30 noiembrie 2026 16:02",
    ]
    assert message.subject == "RE: [RIV-2026-000789] Groapă în asfalt"
    assert message.language == "ro"
    assert emails(message) == ["andrei.popa@outlook.example"]
    assert message.in_reply_to_ids == ("case-riv-2026-000789.1@riverton.example",)


def test_apple_mail_keeps_the_inline_image_and_prefers_the_text_part() -> None:
    message = read("apple_mail_inline_image")
    assert message.body.endswith("Photo attached.\n\nDan")
    assert message.body_html == ""  # a text version exists: it is the one shown
    [image] = message.attachments
    assert (image.filename, image.content_type, image.content_id) == (
        "streetlight.png",
        "image/png",
        "F3A1B2C4-5D6E-4F70-8192-A3B4C5D6E7F8",
    )
    assert image.content.startswith(b"\x89PNG")
    assert emails(message) == ["maria.stone@example.org"]


def test_thunderbird_rfc2231_file_name_and_content_language() -> None:
    message = read("thunderbird_reply_attachment")
    [pdf] = message.attachments
    assert pdf.filename == "cerere școală.pdf"
    assert pdf.content.startswith(b"%PDF-1.4")
    assert message.language == "ro"
    assert message.body.startswith("Bună ziua,\n\nVă trimit atașat")
    assert message.quoted_text.startswith("On 02.12.2026 17:30, Primăria Riverton wrote:\n> ")


def test_phone_reply_declared_ascii_but_utf8_folds_the_romanian_footer_and_attribution() -> None:
    message = read("iphone_broken_charset")
    assert message.body == "Da, vin mâine la ghișeu la ora 10."
    assert message.quoted_text.startswith("Trimis de pe iPhone-ul meu\n\n> Pe 2 dec. 2026")
    assert message.notes == (
        "The text's charset: declared 'us-ascii' but written in UTF-8; read as UTF-8.",
    )


def test_html_only_mail_is_sanitised_and_read_as_text() -> None:
    message = read("html_only_webmail")
    assert message.body == (
        "Hello,\n\nThere is a fallen tree blocking the footpath in Riverside Park – near the "
        "café.\n\nSee the map (https://maps.example/?q=riverside).\n\nTom"
    )
    for unsafe in ("<script", "onclick", "tracker.example", "<title"):
        assert unsafe not in message.body_html
    assert '<a href="https://maps.example/?q=riverside"' in message.body_html


def test_koi8r_iso2022jp_and_cp1252_without_charset_read_correctly() -> None:
    assert read("android_koi8r").subject == "Не работает фонарь"
    assert read("android_koi8r").sender_name == "Ольга Смирнова"
    assert read("android_koi8r").quoted_text == "-- \nОтправлено с Android"
    japanese = read("iso2022jp")
    assert (japanese.sender_name, japanese.subject) == ("山田 花子", "ベンチの故障")
    assert japanese.body.startswith("市役所御中\n\n公園のベンチが壊れています。")
    assert read("no_charset_no_message_id").body.startswith(
        "Hi – the “recycling” collection didn’t come. I paid €40"
    )


def test_missing_message_id_gets_a_content_hash_and_malformed_headers_are_survived() -> None:
    message = read("no_charset_no_message_id")
    assert message.provider_message_id is not None
    assert message.provider_message_id.startswith("sha256:")
    assert len(message.provider_message_id) == len("sha256:") + 48
    assert message.subject == "=?utf-8?B?not base64 at all?= recycling"
    assert emails(message) == []  # the broken addresses and the empty group are dropped


def test_forwarded_mail_is_never_folded() -> None:
    message = read("forwarded_gmail")
    assert message.quoted_text == ""
    assert "Your permit for zone B has been renewed" in message.body
    assert message.body.endswith("> Please keep this email for your records.")


def test_out_of_office_and_list_mail_are_automated_and_say_why() -> None:
    ooo = read("outlook_out_of_office")
    assert ooo.is_automated
    assert ooo.notes == (
        "Sent by a machine (Auto-Submitted: auto-replied): nothing automatic answers it.",
    )
    assert ooo.reply_address_token == "riv-2026-000555.0a1b2c3d4e5f"
    newsletter = read("newsletter_list")
    assert newsletter.is_automated
    assert not read("gmail_reply").is_automated


def test_a_bounce_is_no_message_and_mail_without_sender_is_invalid() -> None:
    with pytest.raises(NoMessage):
        read("bounce_report")
    with pytest.raises(InvalidPayload, match="no valid sender address"):
        read("no_sender")


def test_attachments_over_the_limits_are_left_out_and_named() -> None:
    message = read("attachment_limits")
    assert [a.filename for a in message.attachments] == ["drain.jpg"]
    assert message.notes == (
        "Left out street-wide.png (3004 bytes): over the limit of 1000 bytes.",
        "Left out viewer.exe: files of this kind can carry programs.",
        "Left out notes.dat: files of type application/x-msdownload are not accepted.",
    )


def test_the_same_message_relayed_twice_has_one_provider_id() -> None:
    raw = (PAYLOADS / "gmail_reply.eml").read_bytes()
    relayed = b"Received: from relay2.example by mx.riverton.example; Tue, 1 Dec 2026\r\n" + raw
    changed = raw.replace(b"still has not been", b"has still not been")
    adapter = EmailAdapter()

    def provider_id(body: bytes) -> str:
        parsed = adapter.parse_inbound(RawPayload(body=body, content_type="message/rfc822"))
        return parsed.provider_message_id or ""

    first = provider_id(raw)
    assert provider_id(relayed) == first
    # The same Message-ID on other content (some mailers reuse them) is another message.
    other = provider_id(changed)
    assert other != first
    assert other.split("#")[0] == first.split("#")[0]


def test_the_expected_files_name_the_envelope_they_were_read_with() -> None:
    headers = json.loads((PAYLOADS / "gmail_reply.expected.json").read_text())["headers"]
    assert headers["x-civicdesk-envelope-to"].startswith("help+")
