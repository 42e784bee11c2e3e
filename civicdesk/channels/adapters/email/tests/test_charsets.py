"""Charsets as real mail declares them, and the few lies it tells."""

import pytest

from civicdesk.channels.adapters.email.charsets import clean_text, decode_text


@pytest.mark.parametrize(
    ("text", "codec", "declared"),
    [
        ("Primăria Riverton: ştiri", "cp1250", "windows-1250"),
        ("“quoted” – €5", "cp1252", "windows-1252"),
        ("Здравствуйте", "koi8-r", "koi8-r"),
        ("公園のベンチ", "iso2022_jp", "ISO-2022-JP"),
        ("Grădină", "iso8859-2", "iso-8859-2"),
        ("中文", "gb2312", "gb2312"),
    ],
)
def test_declared_charsets_are_honoured(text: str, codec: str, declared: str) -> None:
    assert decode_text(text.encode(codec), declared).text == text
    assert decode_text(text.encode(codec), declared).note == ""


def test_utf8_declared_as_latin1_is_read_as_utf8_and_noted() -> None:
    decoded = decode_text("Bună ziua".encode(), "iso-8859-1")
    assert decoded.text == "Bună ziua"
    assert "written in UTF-8" in decoded.note


def test_unknown_and_missing_charsets_fall_back_and_say_so() -> None:
    assert decode_text("café".encode(), "x-nonsense").text == "café"
    assert decode_text("café".encode("cp1252"), None).text == "café"
    assert decode_text("café".encode("cp1252"), None).note == (
        "no charset declared; read as windows-1252"
    )
    # Bytes no declared codec reads: every byte is still kept as a character.
    assert decode_text(b"\x81\x8d", "utf-8").text == "\x81\x8d"


def test_text_never_holds_nul_or_lone_surrogates() -> None:
    assert clean_text("a\x00b\udc80c") == "ab\ufffdc"
