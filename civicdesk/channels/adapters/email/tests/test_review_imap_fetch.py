"""Review findings: reading FETCH answers whose UID comes after the message literal.

RFC 3501 lets a server answer a FETCH's items in any order; some (Exchange among them) put
`UID n` after `BODY[] {size}`. imaplib then hands back the literal in a tuple whose first
element holds no UID, followed by the line's tail `b" UID n)"` as a separate item.
"""

from __future__ import annotations

from typing import Any

from civicdesk.channels.adapters.email.imap_polling import _fetch

MESSAGE = b"From: ann@example.org\r\nSubject: Lamp\r\n\r\nThe lamp is out.\r\n"


class _Answer:
    """What imaplib's `uid("FETCH", ...)` returns for `* 1 FETCH (BODY[] {n} ... UID 7)`."""

    def uid(self, *args: Any) -> tuple[str, list[Any]]:
        return "OK", [(b"1 (BODY[] {%d}" % len(MESSAGE), MESSAGE), b" UID 7)"]


def test_a_uid_after_the_literal_still_yields_the_message_itself() -> None:
    found = _fetch(_Answer(), [7], "(UID BODY.PEEK[])")  # type: ignore[arg-type]
    # Either the message is recognised, or it is not taken at all (left for the next poll);
    # never the response's tail stored in its place (the message would then be flagged
    # \Seen or moved with only " UID 7)" kept of it).
    assert found.get(7) in (MESSAGE, None)


class _AnswerWithFlagUpdate:
    """The literal, then an unsolicited `* 1 FETCH (UID 7 FLAGS (\\Seen))`: another client
    (a person reading the mailbox in their own client) changed the message's flags."""

    def uid(self, *args: Any) -> tuple[str, list[Any]]:
        return "OK", [
            (b"1 (UID 7 BODY[] {%d}" % len(MESSAGE), MESSAGE),
            b")",
            b"1 (UID 7 FLAGS (\\Seen))",
        ]


def test_an_unsolicited_flag_update_does_not_replace_the_message() -> None:
    found = _fetch(_AnswerWithFlagUpdate(), [7], "(UID BODY.PEEK[])")  # type: ignore[arg-type]
    assert found.get(7) == MESSAGE
