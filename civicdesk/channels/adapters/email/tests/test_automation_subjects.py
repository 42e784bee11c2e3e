"""A person's request is not taken for an auto-reply because of its first word."""

from __future__ import annotations

import pytest

from civicdesk.channels.adapters.email.adapter import EmailAdapter
from civicdesk.channels.adapters.email.envelope import CONTENT_TYPE
from civicdesk.channels.contracts import RawPayload


@pytest.mark.parametrize(
    "subject",
    [
        "Absent street lighting on Elm Avenue",
        "Absence of bin collection for three weeks",
        "Undeliverable: the post office keeps returning my tax letters",
    ],
)
def test_a_citizens_subject_starting_with_a_common_word_is_not_an_auto_reply(
    subject: str,
) -> None:
    raw = RawPayload(
        body=(
            "From: Ann Lee <ann.lee@example.org>\r\nTo: help@riverton.example\r\n"
            f"Subject: {subject}\r\nMessage-ID: <x1@example.org>\r\n\r\n"
            "Please look into it.\r\n"
        ).encode(),
        content_type=CONTENT_TYPE,
    )
    message = EmailAdapter().parse_inbound(raw)
    assert not message.is_automated
