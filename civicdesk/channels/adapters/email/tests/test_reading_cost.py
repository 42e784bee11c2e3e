"""Reading a message parses each of its headers once (the standard policy parses a header
again every time it is read), and nothing parsed is shared between two messages."""

from __future__ import annotations

from pathlib import Path

from civicdesk.channels.adapters.email.reading import parse_bytes

PAYLOADS = Path(__file__).parent / "payloads"


def test_a_header_read_twice_is_parsed_once() -> None:
    message = parse_bytes((PAYLOADS / "thunderbird_reply_attachment.eml").read_bytes())
    assert message["Content-Type"] is message["Content-Type"]
    assert message.get_content_type() == "multipart/mixed"
    [first, *_] = message.iter_parts()
    assert first["Content-Type"] is first["Content-Type"]


def test_two_messages_share_no_parsed_header() -> None:
    raw = (PAYLOADS / "gmail_reply.eml").read_bytes()
    one, two = parse_bytes(raw), parse_bytes(raw)
    assert one["Subject"] == two["Subject"]
    assert one["Subject"] is not two["Subject"]
