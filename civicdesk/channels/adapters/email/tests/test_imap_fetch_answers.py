"""Reading FETCH answers whose UID comes after the message literal.

RFC 3501 lets a server answer a FETCH's items in any order; some (Exchange among them) put
`UID n` after `BODY[] {size}`. imaplib then hands back the literal in a tuple whose first
element holds no UID, followed by the line's tail `b" UID n)"` as a separate item.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from civicdesk.channels.adapters.email import imap_polling
from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.adapters.email.imap_polling import _fetch
from civicdesk.channels.adapters.email.imap_session import ImapError
from civicdesk.channels.contracts import ListenerVerdict, PollProgress, RawPayload

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


class _Folder:
    """A folder as a server answers for it, UID after the literal. `bodiless`: messages whose
    FETCH answer brings no body; `vanished`: expunged by someone else after the poll's first
    SEARCH (listed by it, then gone)."""

    capabilities: tuple[str, ...] = ()

    def __init__(self, *, bodiless: set[int] = frozenset(), vanished: set[int] = frozenset()):  # type: ignore[assignment]
        self.messages = {uid: MESSAGE.replace(b"Lamp", b"Lamp %d" % uid) for uid in (7, 8, 9)}
        self.bodiless, self.vanished = bodiless, vanished
        self.seen: list[str] = []

    def select(self, folder: str, readonly: bool = False) -> tuple[str, list[bytes]]:
        return "OK", [b"3"]

    def response(self, code: str) -> tuple[str, list[bytes]]:
        return code, [b"5"]

    def _uids(self, text: str) -> list[int]:
        if text.endswith(":*"):
            return [uid for uid in self.messages if uid >= int(text[:-2])]
        return [int(uid) for uid in text.split(",") if int(uid) not in self.vanished]

    def uid(self, command: str, *args: str) -> tuple[str, list[Any]]:
        if command == "SEARCH":
            found = self._uids(args[0].removeprefix("UID "))
            return "OK", [" ".join(map(str, found)).encode()]
        if command == "STORE":
            self.seen.append(args[0])
            return "OK", [None]
        answer: list[Any] = []
        for uid in self._uids(args[0]):
            raw, seq = self.messages[uid], uid - 6
            if "RFC822.SIZE" in args[1]:
                answer.append(b"%d (UID %d RFC822.SIZE %d)" % (seq, uid, len(raw)))
            elif uid in self.bodiless:
                answer.append(b"%d (UID %d FLAGS ())" % (seq, uid))
            else:
                answer += [(b"%d (BODY[] {%d}" % (seq, len(raw)), raw), b" UID %d)" % uid]
        return "OK", answer


class _Intake:
    def __init__(self) -> None:
        self.stored: list[bytes] = []
        self.cursors: list[str] = []

    def store(self, raw: RawPayload) -> ListenerVerdict:
        self.stored.append(raw.body)
        return ListenerVerdict(stored=True)

    def checkpoint(self, cursor: str, *, waiting: int | None = None) -> PollProgress:
        self.cursors.append(cursor)
        return PollProgress()


def _poll(folder: _Folder, monkeypatch: pytest.MonkeyPatch) -> tuple[_Intake, str]:
    @contextmanager
    def session(config: EmailConfig) -> Iterator[_Folder]:
        yield folder

    monkeypatch.setattr(imap_polling, "imap_session", session)
    config = EmailConfig.model_validate(
        {
            "address": "help@riverton.example",
            "imap_host": "127.0.0.1",
            "imap_username": "help",
            "imap_password": "not sent",  # the stub signs nobody in
        }
    )
    intake = _Intake()
    error = ""
    try:
        imap_polling.poll_mailbox(config, "", intake)
    except ImapError as exc:
        error = str(exc)
    return intake, error


def test_a_message_whose_answer_brings_no_body_stops_the_cursor_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = _Folder(bodiless={8})
    intake, error = _poll(folder, monkeypatch)
    assert intake.stored == [folder.messages[7], folder.messages[9]]
    assert folder.seen == ["7,9"]  # only what was stored
    assert json.loads(intake.cursors[-1]) == {"uidvalidity": 5, "last_uid": 7}
    assert error == (
        "the server's answer held no message for UID 8, which is still in the folder; "
        "the next poll tries it again"
    )


def test_a_message_expunged_meanwhile_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _Folder(vanished={8})
    intake, error = _poll(folder, monkeypatch)
    assert intake.stored == [folder.messages[7], folder.messages[9]]
    assert json.loads(intake.cursors[-1]) == {"uidvalidity": 5, "last_uid": 9}
    assert error == ""
