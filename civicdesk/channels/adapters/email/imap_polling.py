"""Polling an IMAP folder: new messages by UID, stored before the server is touched.

The cursor is `{"uidvalidity": V, "last_uid": U}` (JSON): the next poll asks for the UIDs
after U. A server that renumbers the folder (a new UIDVALIDITY) voids U: the folder is read
again from its first message, and what was stored already is recognised by its provider id
(Message-ID plus a content digest) and stored nothing twice.

Each batch (`imap_batch_size`) is fetched with `BODY.PEEK[]`, which sets no flag; every
message is handed to the framework, which stores it durably; only then are the batch's
messages marked read (\\Seen) or moved, as the account says, and the cursor checkpointed. A
poll that dies anywhere fetches at most one batch again. A message the adapter cannot read
is stored all the same (failed, with its reason, replayable) and the others go on.

A message over the account's size limit is not fetched: it stays in the folder, untouched,
and the poll says so (the account's `last_poll_error`), once.
"""

from __future__ import annotations

import imaplib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import Any

from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.adapters.email.envelope import CONTENT_TYPE, AttachmentLimits, Envelope
from civicdesk.channels.adapters.email.headers import addresses, normalise_address
from civicdesk.channels.adapters.email.imap_session import (
    ImapError,
    imap_session,
    quoted,
    server_text,
)
from civicdesk.channels.contracts import PollIntake, RawPayload

logger = logging.getLogger(__name__)

IMAP_UID = "x-civicdesk-imap-uid"
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


@dataclass(frozen=True)
class ImapCursor:
    uidvalidity: int = 0
    last_uid: int = 0

    @classmethod
    def parse(cls, text: str) -> ImapCursor:
        try:
            data = json.loads(text) if text else {}
            return cls(uidvalidity=int(data["uidvalidity"]), last_uid=int(data["last_uid"]))
        except (ValueError, KeyError, TypeError):
            return cls()

    def dump(self) -> str:
        return json.dumps({"uidvalidity": self.uidvalidity, "last_uid": self.last_uid})


def envelope_for(raw: bytes, config: EmailConfig) -> Envelope:
    """What the SMTP envelope would have said: the account's own addresses the message was
    delivered to (Delivered-To, X-Original-To, else To and Cc, reply tags kept), else the
    account's address. No envelope sender: polled mail has none we can trust."""
    headers = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    ours = set(config.identities())
    for names in (("Delivered-To", "X-Original-To"), ("To", "Cc")):
        found = [
            address
            for _, address in addresses(headers, *names)
            if _base(normalise_address(address)) in ours
        ]
        if found:
            return Envelope(recipients=tuple(dict.fromkeys(found)))
    return Envelope(recipients=(config.address,) if config.address else ())


def _base(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def payload_of(raw: bytes, config: EmailConfig, *, uid: str) -> RawPayload:
    """The message as the framework stores it: its bytes, and headers as the listener's."""
    try:
        envelope = envelope_for(raw, config)
    except Exception:  # headers beyond reading: reading decides what to make of them
        envelope = Envelope(recipients=(config.address,) if config.address else ())
    headers = {**envelope.to_headers(), **AttachmentLimits.of(config).to_headers(), IMAP_UID: uid}
    return RawPayload(body=raw, content_type=CONTENT_TYPE, headers=headers)


def _check(answer: tuple[str, Sequence[Any]], what: str) -> list[Any]:
    status, data = answer
    if status != "OK":
        text = data[0] if data else b""
        raise ImapError(f"{what} failed: {server_text(ValueError(text))}")
    return list(data)


def _uids_after(session: imaplib.IMAP4, last_uid: int) -> list[int]:
    data = _check(session.uid("SEARCH", f"UID {last_uid + 1}:*"), "searching the folder")
    # "n:*" names the last message even when its UID is below n: keep only the new.
    return sorted(
        uid
        for item in data
        if isinstance(item, bytes)
        for uid in map(int, item.split())
        if uid > last_uid
    )


def _fetch(session: imaplib.IMAP4, uids: Sequence[int], items: str) -> dict[int, object]:
    """UID -> the literal fetched (bytes), or the response line when it carries none."""
    data = _check(session.uid("FETCH", ",".join(map(str, uids)), items), "fetching messages")
    found: dict[int, object] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        match = _UID.search(line)
        if match:
            found[int(match.group(1))] = item[1] if isinstance(item, tuple) else line
    return found


def _sizes(session: imaplib.IMAP4, uids: Sequence[int]) -> dict[int, int]:
    sizes = {}
    for uid, line in _fetch(session, uids, "(UID RFC822.SIZE)").items():
        match = _SIZE.search(line) if isinstance(line, bytes) else None
        if match:
            sizes[uid] = int(match.group(1))
    return sizes


def _after_import(session: imaplib.IMAP4, uids: Sequence[int], config: EmailConfig) -> None:
    """Mark the stored messages read, or move them, as the account says."""
    if not uids or config.imap_after_import == "leave":
        return
    uid_set = ",".join(map(str, uids))
    if config.imap_after_import == "seen":
        _check(session.uid("STORE", uid_set, "+FLAGS.SILENT", "(\\Seen)"), "marking mail read")
        return
    target = quoted(config.imap_processed_folder)
    if "MOVE" in session.capabilities:
        _check(session.uid("MOVE", uid_set, target), "moving mail")
        return
    _check(session.uid("COPY", uid_set, target), "copying mail")
    _check(session.uid("STORE", uid_set, "+FLAGS.SILENT", "(\\Deleted)"), "removing moved mail")
    if "UIDPLUS" in session.capabilities:
        _check(session.uid("EXPUNGE", uid_set), "removing moved mail")
    else:
        _check(session.expunge(), "removing moved mail")


def _ensure_folder(session: imaplib.IMAP4, folder: str) -> None:
    status, _ = session.status(quoted(folder), "(UIDNEXT)")
    if status != "OK":
        _check(session.create(quoted(folder)), f"creating the folder {folder}")


def poll_mailbox(config: EmailConfig, cursor: str, intake: PollIntake) -> None:
    """Store every message after the cursor into `intake`, a batch at a time (see module)."""
    state = ImapCursor.parse(cursor)
    oversized: list[int] = []
    with imap_session(config) as session:
        if config.imap_after_import == "move":
            _ensure_folder(session, config.imap_processed_folder)
        readonly = config.imap_after_import == "leave"
        _check(session.select(quoted(config.imap_folder), readonly=readonly), "opening the folder")
        _, values = session.response("UIDVALIDITY")
        uidvalidity = int(values[0]) if values and values[0] else 0
        if uidvalidity != state.uidvalidity:
            if state.uidvalidity:
                logger.info(
                    "IMAP folder %s renumbered (UIDVALIDITY %s -> %s): reading it again",
                    config.imap_folder,
                    state.uidvalidity,
                    uidvalidity,
                )
            state = ImapCursor(uidvalidity=uidvalidity, last_uid=0)
        uids = _uids_after(session, state.last_uid)
        waiting = len(uids)
        intake.checkpoint(state.dump(), waiting=waiting)
        for start in range(0, len(uids), config.imap_batch_size):
            batch = uids[start : start + config.imap_batch_size]
            sizes = _sizes(session, batch)
            wanted = [uid for uid in batch if sizes.get(uid, 0) <= config.max_message_bytes]
            oversized += [uid for uid in batch if uid in sizes and uid not in wanted]
            bodies = _fetch(session, wanted, "(UID BODY.PEEK[])") if wanted else {}
            stored = []
            for uid in wanted:
                raw = bodies.get(uid)
                if not isinstance(raw, bytes):
                    continue  # expunged by someone else meanwhile
                intake.store(payload_of(raw, config, uid=f"{uidvalidity}:{uid}"))
                stored.append(uid)
            _after_import(session, stored, config)
            waiting -= len(batch)
            state = ImapCursor(uidvalidity=uidvalidity, last_uid=batch[-1])
            intake.checkpoint(state.dump(), waiting=waiting)
    if oversized:
        raise ImapError(
            f"{len(oversized)} message(s) over the account's size limit "
            f"({config.max_message_bytes} bytes) were left in {config.imap_folder}, untouched "
            f"(UIDs {', '.join(map(str, oversized[:20]))}{'...' if len(oversized) > 20 else ''})"
        )
