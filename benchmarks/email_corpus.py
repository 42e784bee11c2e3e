"""The mail the email benchmarks send: the adapter's real-world corpus made unique, and a
generated corpus of threads whose right answer is known.

Both are deterministic (a seeded generator, numbered ids), so two runs send the same bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
