"""The quote and signature folder: only a tail is folded, never new text."""

from civicdesk.channels.adapters.email.quotes import fold


def test_inline_answers_between_quotes_keep_the_whole_message() -> None:
    text = "> Which street?\nMill Road.\n> When?\nMonday."
    assert fold(text).new_text == text
    assert fold(text).quoted == ""


def test_a_message_that_is_all_quote_is_kept_whole() -> None:
    text = "> On Mon, Riverton wrote:\n> Thank you."
    assert fold(text).new_text == text


def test_romanian_attribution_wrapped_over_two_lines() -> None:
    folded = fold("Mulțumesc.\n\nÎn data de 30 nov. 2026, Primăria Riverton\na scris:\n> Bună")
    assert folded.new_text == "Mulțumesc."
    assert folded.quoted == "În data de 30 nov. 2026, Primăria Riverton\na scris:\n> Bună"


def test_original_message_rule_and_header_block() -> None:
    folded = fold("Yes.\n\n-----Original Message-----\nFrom: A\nSent: B\nTo: C\n\nold")
    assert folded.new_text == "Yes."
    assert folded.quoted.startswith("-----Original Message-----")
    folded = fold("Da.\n\nDe la: Primăria <help@riverton.example>\nTrimis: luni\nCătre: Ion\n\nx")
    assert folded.new_text == "Da."


def test_a_far_signature_delimiter_is_a_divider_not_a_signature() -> None:
    body = "Part one\n-- \n" + "\n".join(f"line {n}" for n in range(15))
    assert fold(body).new_text == body


def test_a_citizen_mentioning_from_is_not_a_header_block() -> None:
    text = "From: my house to the school the path is dark.\nPlease fix the lights."
    assert fold(text).new_text == text


def test_forwarded_text_is_never_folded() -> None:
    text = "See below.\n\n-------- Mesaj redirecționat --------\nDe la: X\nData: Y\nCătre: Z\n\n> a"
    assert fold(text).new_text == text
    assert fold("Look:\n> quoted letter", forwarded=True).new_text == "Look:\n> quoted letter"


def test_crlf_line_ends_are_read_like_lf() -> None:
    assert fold("Hi\r\n\r\nOn Mon, X wrote:\r\n> a\r\n").new_text == "Hi"
