"""Fuzzing the reader: any bytes become a message or a clear InvalidPayload, never a crash.

Inputs are arbitrary bytes, messages assembled from hostile header and part fragments, and
the corpus mutated (bytes flipped, cut, spliced). A message read from any of them holds only
text a database can store (no NUL, no lone surrogate) within the platform's limits.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicdesk.channels.adapters.email import EmailAdapter
from civicdesk.channels.contracts import InboundMessage, InvalidPayload, RawPayload
from civicdesk.core import limits

CORPUS = sorted((Path(__file__).parent / "payloads").glob("*.eml"))
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ENVELOPE = {"x-civicdesk-envelope-to": "help@riverton.example"}


def storable(text: str) -> bool:
    return "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)


def read(body: bytes, headers: dict[str, str] | None) -> InboundMessage | InvalidPayload:
    try:
        return EmailAdapter().parse_inbound(
            RawPayload(body=body, content_type="message/rfc822", headers=headers or ENVELOPE)
        )
    except InvalidPayload as exc:
        return exc


def check(body: bytes, headers: dict[str, str] | None = None) -> None:
    message = read(body, headers)
    if isinstance(message, InvalidPayload):
        assert str(message)  # a reason an administrator can read
        return
    texts = [message.body, message.subject, message.sender_name, message.quoted_text]
    texts += [message.body_html, message.recipient, message.reply_address_token]
    texts += [a.filename for a in message.attachments] + list(message.notes)
    texts += [c.value for c in (*message.sender, *message.participants)]
    texts += [*message.in_reply_to_ids, message.provider_message_id or ""]
    assert all(storable(text) for text in texts), texts
    assert len(message.body) <= limits.MESSAGE_BODY_MAX_LENGTH
    assert len(message.subject) <= limits.SUBJECT_MAX_LENGTH
    assert len(message.provider_message_id or "") <= limits.PROVIDER_ID_MAX_LENGTH
    assert all(len(a.filename) <= limits.NAME_MAX_LENGTH for a in message.attachments)
    assert message.sender
    assert "@" in message.sender[0].value


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(body: bytes) -> None:
    check(body)
    check(body, headers={"x-civicdesk-envelope-from": "", "x-civicdesk-envelope-to": ""})


HEADER_NAMES = st.sampled_from(
    ["From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Content-Type",
     "Content-Transfer-Encoding", "Content-Disposition", "Auto-Submitted", "Reply-To",
     "Content-Language", "Date", "MIME-Version"]
)  # fmt: skip
HOSTILE = st.sampled_from(
    [b"=?utf-8?B?", b"=?x-bad?Q?=FF?=", b"=?iso-2022-jp?B?GyRC?=", b"<", b">", b"@", b'"',
     b"\xff\xfe", b"\x00", b"\r\n ", b"\n\t", b";", b"charset=", b"boundary=", b"*0*=",
     b"utf-8''%C8", b"multipart/mixed", b"text/html", b"message/rfc822", b"base64",
     b"quoted-printable", b"=?", b"?=", b"a@b.example", b"<x@y>", b"(comment", b"\\", b"--",
     "ş".encode(), b"filename=", b"name*=", b"%", b"=\r\n", b"==", b"multipart/report"]
)  # fmt: skip
FRAGMENT = st.lists(st.one_of(HOSTILE, st.binary(max_size=8)), max_size=8).map(b"".join)


@FUZZ
@given(
    st.lists(st.tuples(HEADER_NAMES, FRAGMENT), max_size=10),
    st.lists(st.tuples(FRAGMENT, FRAGMENT), max_size=4),
    st.booleans(),
)
def test_hostile_headers_and_parts(
    headers: list[tuple[str, bytes]], parts: list[tuple[bytes, bytes]], crlf: bool
) -> None:
    end = b"\r\n" if crlf else b"\n"
    lines = [b"From: Ann <ann@example.org>"] + [name.encode() + b": " + v for name, v in headers]
    lines.append(b'Content-Type: multipart/mixed; boundary="b"')
    body = [b""]
    for part_headers, content in parts:
        body += [b"--b", b"Content-Type: " + part_headers, b"", content]
    body.append(b"--b--")
    check(end.join(lines + body))


@FUZZ
@given(
    st.sampled_from(CORPUS),
    st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=0, max_size=6)), max_size=6),
    st.floats(0.1, 1),
)
def test_mutated_corpus(path: Path, edits: list[tuple[float, bytes]], keep: float) -> None:
    data = bytearray(path.read_bytes())
    for position, insert in edits:
        at = int(position * len(data))
        data[at : at + len(insert)] = insert
    check(bytes(data[: max(1, int(keep * len(data)))]))


def test_a_message_cut_after_a_parameters_star_is_still_read() -> None:
    """Found by the fuzzer: Python's header parser raises IndexError on `name*` with nothing
    after it, while it splits the message into parts; the header is kept as text instead."""
    raw = (CORPUS[0].parent / "thunderbird_reply_attachment.eml").read_bytes()
    cut = raw[: raw.index(b"name*") + len(b"name*")]
    message = read(cut, None)
    assert isinstance(message, InboundMessage)
    assert message.sender[0].value == "ion.popescu@posta.example.ro"
    assert message.body.startswith("Bună ziua,")
    check(cut)
