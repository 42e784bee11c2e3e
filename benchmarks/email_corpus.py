"""The mail the email benchmarks send: the adapter's real-world corpus made unique, and a
generated corpus of threads whose right answer is known.

Both are deterministic (a seeded generator, numbered ids), so two runs send the same bytes.
"""

from __future__ import annotations

import email
import email.policy
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAYLOADS = REPO / "civicdesk/channels/adapters/email/tests/payloads"
HELP = "help@riverton.example"

_REPLACED = re.compile(rb"^(message-id|from|return-path):", re.IGNORECASE)


def corpus_files() -> list[Path]:
    return sorted(PAYLOADS.glob("*.eml"))


def _crlf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def with_identity(raw: bytes, *, message_id: str, sender: str) -> bytes:
    """`raw` (CRLF) with its Message-ID, and its From where it has one, replaced: the header
    lines named and their continuation lines are dropped, the new ones put first."""
    head, separator, body = raw.partition(b"\r\n\r\n")
    kept: list[bytes] = []
    dropping = False
    had_from = False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = bool(_REPLACED.match(line))
        had_from = had_from or line.lower().startswith(b"from:")
        if not dropping:
            kept.append(line)
    new = [f"Message-ID: <{message_id}>".encode()]
    if had_from:
        new.append(f"From: Resident <{sender}>".encode())
    return b"\r\n".join(new + kept) + separator + body


@dataclass(frozen=True)
class Letter:
    sender: str  # the envelope sender (MAIL FROM)
    data: bytes  # the message, CRLF line ends


def ingest_corpus(count: int, *, run: str) -> list[Letter]:
    """`count` messages: the corpus files in turn, each with a Message-ID and a sender of its
    own (so each is new, and no sender reaches the per-sender rate limit)."""
    files = [_crlf(path.read_bytes()) for path in corpus_files()]
    letters = []
    for n in range(count):
        sender = f"resident-{run}-{n}@mail.example"
        data = with_identity(
            files[n % len(files)], message_id=f"{run}-{n}@mail.example", sender=sender
        )
        letters.append(Letter(sender=sender, data=data))
    return letters


# --- Threads with a known right answer ------------------------------------------------------

TOPICS = (
    ("Bin not emptied", "My green bin on {street} was not emptied on Tuesday."),
    ("Street light out", "The street light outside {number} {street} has been out for a week."),
    ("Pothole", "There is a deep pothole outside {number} {street}; a cyclist nearly fell."),
    ("Noise at night", "Music from {number} {street} goes on past 2 a.m. every weekend."),
    ("Council tax question", "I moved out of {number} {street} in June; please close my account."),
)
STREETS = ("Elm Avenue", "River Street", "Bridge Road", "Mill Lane", "Castle Hill", "Park Row")
# How the citizen's client answers the helpdesk's acknowledgement (see `thread_replies`).
REPLY_STYLES = ("full-headers", "outlook", "new-subject", "subject-only", "own-follow-up")


@dataclass(frozen=True)
class ThreadMessage:
    thread: int  # the ground truth: the thread (the citizen's first message) it belongs to
    style: str  # "first", or one of REPLY_STYLES
    sender: str
    message_id: str  # without brackets
    data: bytes


@dataclass(frozen=True)
class Acknowledgement:
    """What the helpdesk sent the citizen about their first message."""

    message_id: str  # without brackets
    subject: str


def first_messages(threads: int, *, seed: int = 7) -> list[ThreadMessage]:
    """One first message per thread, each from a citizen of its own, with its own subject."""
    rng = random.Random(seed)
    started = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    found = []
    for n in range(threads):
        topic, text = TOPICS[n % len(TOPICS)]
        street = STREETS[rng.randrange(len(STREETS))]
        sender = f"citizen{n}@mail.example"
        message_id = f"t{n}-0@mail.example"
        body = text.format(number=rng.randrange(1, 200), street=street) + "\n\nThank you"
        data = _message(
            sender=sender,
            subject=f"{topic} on {street} (no. {n})",
            message_id=message_id,
            body=body,
            at=started + timedelta(minutes=n),
        )
        found.append(ThreadMessage(n, "first", sender, message_id, data))
    return found


def thread_replies(
    firsts: list[ThreadMessage],
    acknowledgements: dict[int, Acknowledgement],
    *,
    per_thread: int = 2,
    seed: int = 11,
) -> list[ThreadMessage]:
    """`per_thread` replies to each thread, shuffled, as different clients write them:

    - full-headers (Gmail, Apple Mail, Thunderbird): In-Reply-To the acknowledgement,
      References the first message and the acknowledgement, "Re: " + its subject;
    - outlook: In-Reply-To only, "RE: " + the subject, Thread-Topic/Thread-Index;
    - new-subject (a phone, the citizen retyped the subject): both headers, a new subject;
    - subject-only (a webmail that drops the headers): "Re: " + the acknowledgement's subject,
      which carries the helpdesk's reference;
    - own-follow-up ("I forgot to say"): a reply to the citizen's own first message.

    Without an acknowledgement for a thread (the helpdesk sent none), replies name the first
    message and its subject instead.
    """
    rng = random.Random(seed)
    started = datetime(2026, 11, 9, 8, 0, tzinfo=UTC)
    replies = []
    for first in firsts:
        original = subject_of(first.data)
        ack = acknowledgements.get(first.thread) or Acknowledgement(first.message_id, original)
        for r in range(1, per_thread + 1):
            style = REPLY_STYLES[rng.randrange(len(REPLY_STYLES))]
            message_id = f"t{first.thread}-{r}@mail.example"
            headers: dict[str, str] = {}
            subject = f"Re: {ack.subject}"
            if style == "full-headers":
                headers["In-Reply-To"] = f"<{ack.message_id}>"
                headers["References"] = f"<{first.message_id}> <{ack.message_id}>"
            elif style == "outlook":
                subject = f"RE: {ack.subject}"
                headers["In-Reply-To"] = f"<{ack.message_id}>"
                headers["Thread-Topic"] = original
                headers["Thread-Index"] = f"AdnC{first.thread:06d}{r:02d}=="
            elif style == "new-subject":
                subject = "Still waiting"
                headers["In-Reply-To"] = f"<{ack.message_id}>"
                headers["References"] = f"<{first.message_id}> <{ack.message_id}>"
            elif style == "own-follow-up":
                subject = f"Re: {original}"
                headers["In-Reply-To"] = f"<{first.message_id}>"
                headers["References"] = f"<{first.message_id}>"
            body = (
                f"Any news on this? It is still the same (reply {r}).\n\n"
                f"On Mon, 2 Nov 2026 at 08:00, Help desk <{HELP}> wrote:\n"
                f"> {_first_line(first.data)}\n"
            )
            data = _message(
                sender=first.sender,
                subject=subject,
                message_id=message_id,
                body=body,
                at=started + timedelta(hours=r, minutes=first.thread),
                **headers,
            )
            replies.append(ThreadMessage(first.thread, style, first.sender, message_id, data))
    rng.shuffle(replies)
    return replies


def acknowledgements_in(
    sent: list[bytes], firsts: list[ThreadMessage]
) -> dict[int, Acknowledgement]:
    """The acknowledgement of each thread among the mail a helpdesk sent: the message to the
    citizen that answers their first message (In-Reply-To), else the first one to them."""
    by_id = {f"<{first.message_id}>": first.thread for first in firsts}
    by_sender = {first.sender: first.thread for first in firsts}
    found: dict[int, Acknowledgement] = {}
    fallback: dict[int, Acknowledgement] = {}
    for data in sent:
        message = email.message_from_bytes(data, policy=email.policy.default)
        ack = Acknowledgement(
            str(message.get("Message-ID", "")).strip().strip("<>"),
            " ".join(str(message.get("Subject", "")).split()),
        )
        thread = by_id.get(str(message.get("In-Reply-To", "")).strip())
        if thread is not None:
            found.setdefault(thread, ack)
        to = str(message.get("To", "")).strip().lower()
        if to in by_sender:
            fallback.setdefault(by_sender[to], ack)
    return fallback | found


def _message(
    *, sender: str, subject: str, message_id: str, body: str, at: datetime, **headers: str
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = HELP
    message["Subject"] = subject
    message["Date"] = format_datetime(at)
    message["Message-ID"] = f"<{message_id}>"
    for name, value in headers.items():
        message[name] = value
    message.set_content(body)
    return _crlf(message.as_bytes())


def subject_of(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=email.policy.default)
    return str(message.get("Subject", ""))


def _first_line(data: bytes) -> str:
    return data.partition(b"\r\n\r\n")[2].split(b"\r\n", 1)[0].decode()
