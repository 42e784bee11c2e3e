"""Polling an IMAP folder: new messages by UID, stored before the server is touched.

The cursor is `{"uidvalidity": V, "last_uid": U}` (JSON): the next poll asks for the UIDs
after U. A server that renumbers the folder (a new UIDVALIDITY) voids U: the folder is read
again from its first message, and what was stored already is recognised by its provider id
(Message-ID plus a content digest) and stored nothing twice.

Each batch (`imap_batch_size`) is fetched with `BODY.PEEK[]`, which sets no flag; every
message is handed to the framework, which stores it durably; only then are the batch's
messages marked read (\\Seen) or moved, as the account says, and the cursor checkpointed. A
poll that dies anywhere fetches at most one batch again. A message the adapter cannot read
is stored all the same (failed, with its reason, replayable) and the others go on. A message
the folder still holds but whose FETCH answer brought no body stops the cursor before it
(the poll fails, saying so): it is never passed over as if it had been expunged.

A message over the account's size limit is not fetched whole: its headers alone are stored
(BODY.PEEK[HEADER]), marked `IMAP_OVER_LIMIT`, and fail with that reason in the payload
list; the message stays in the folder, untouched, and the poll says so (the account's
`last_poll_error`), once. Its UID and size stay in the cursor (`over_limit`): the first poll
after an administrator raised the limit above its size fetches it again, whole, and imports
it like any other (the failed headers-only payload stays as the record of the first try).
"""

from __future__ import annotations

import imaplib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from email import policy
from email.parser import BytesParser
from typing import Any

from imapclient.exceptions import ProtocolError
from imapclient.response_parser import parse_fetch_response

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
# On a payload of a message's headers only: "<size> <limit>", the message's size and the
# account's limit it was over (see `over_limit_reason`).
IMAP_OVER_LIMIT = "x-civicdesk-imap-over-limit"


@dataclass(frozen=True)
class ImapCursor:
    uidvalidity: int = 0
    last_uid: int = 0
    # UID -> size of the messages left in the folder for being over the size limit (their
    # headers stored, failed): fetched again by the first poll after the limit was raised.
    over_limit: Mapping[int, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> ImapCursor:
        try:
            data = json.loads(text) if text else {}
            return cls(
                uidvalidity=int(data["uidvalidity"]),
                last_uid=int(data["last_uid"]),
                over_limit={
                    int(uid): int(size) for uid, size in data.get("over_limit", {}).items()
                },
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls()

    def dump(self) -> str:
        data: dict[str, object] = {"uidvalidity": self.uidvalidity, "last_uid": self.last_uid}
        if self.over_limit:
            data["over_limit"] = {str(uid): size for uid, size in sorted(self.over_limit.items())}
        return json.dumps(data)


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


def payload_of(
    raw: bytes, config: EmailConfig, *, uid: str, over_limit: int | None = None
) -> RawPayload:
    """The message as the framework stores it: its bytes, and headers as the listener's.
    `over_limit`: the size of a message over the account's limit, of which `raw` holds only
    the headers (the payload fails, saying so: `over_limit_reason`)."""
    try:
        envelope = envelope_for(raw, config)
    except Exception:  # headers beyond reading: reading decides what to make of them
        envelope = Envelope(recipients=(config.address,) if config.address else ())
    headers = {**envelope.to_headers(), **AttachmentLimits.of(config).to_headers(), IMAP_UID: uid}
    if over_limit is not None:
        headers[IMAP_OVER_LIMIT] = f"{over_limit} {config.max_message_bytes}"
    return RawPayload(body=raw, content_type=CONTENT_TYPE, headers=headers)


def over_limit_reason(payload: RawPayload) -> str | None:
    """Why a payload of a message's headers only holds no message (None for any other)."""
    marker = payload.headers.get(IMAP_OVER_LIMIT)
    if marker is None:
        return None
    size, _, limit = marker.partition(" ")
    uid = payload.headers.get(IMAP_UID, "").rpartition(":")[2]
    return (
        f"the message is {size} bytes, over the account's size limit of {limit} bytes: only "
        f"its headers were stored, and it was left on the mail server untouched (IMAP UID "
        f"{uid}). Raise the account's size limit: the next poll then imports it whole, as a "
        "payload of its own."
    )


def _check(answer: tuple[str, Sequence[Any]], what: str) -> list[Any]:
    status, data = answer
    if status != "OK":
        text = data[0] if data else b""
        raise ImapError(f"{what} failed: {server_text(ValueError(text))}")
    return list(data)


def _uid_set(uids: Iterable[int]) -> str:
    return ",".join(map(str, uids))


def _uids_after(session: imaplib.IMAP4, last_uid: int) -> list[int]:
    data = _check(session.uid("SEARCH", f"UID {last_uid + 1}:*"), "searching the folder")
    # "n:*" names the last message even when its UID is below n: keep only the new.
    return sorted(uid for uid in _searched(data) if uid > last_uid)


def _searched(data: Sequence[Any]) -> set[int]:
    return {uid for item in data if isinstance(item, bytes) for uid in map(int, item.split())}


def _present(session: imaplib.IMAP4, uids: Sequence[int]) -> set[int]:
    """Which of `uids` the folder still holds (a UID SEARCH of exactly them)."""
    if not uids:
        return set()
    return _searched(_check(session.uid("SEARCH", f"UID {_uid_set(uids)}"), "searching"))


def _fetch(
    session: imaplib.IMAP4, uids: Sequence[int], items: str, key: bytes = b"BODY[]"
) -> dict[int, Any]:
    """UID -> the value of the answer's data item `key` (the message's bytes for BODY[]).

    imaplib hands back a FETCH answer as raw pieces (a literal comes in a tuple, the rest of
    its line after it), and a server may answer the items in any order (RFC 3501: `BODY[]
    {n}` before `UID n`), or slip in an unsolicited FETCH (another client changed a flag).
    IMAPClient's response parser, maintained and made for exactly these pieces, reads each
    answer whole; only answers that carry both a UID and `key` count."""
    if not uids:
        return {}
    data = _check(session.uid("FETCH", _uid_set(uids), items), "fetching messages")
    try:
        answers = parse_fetch_response([item for item in data if item is not None], False, False)
    except ProtocolError as exc:
        raise ImapError(f"the server's FETCH answer could not be read: {exc}") from exc
    found: dict[int, Any] = {}
    for answer in answers.values():
        uid = answer.get(b"UID")
        if isinstance(uid, int) and answer.get(key) is not None:
            found[uid] = answer[key]
    return found


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


@dataclass(frozen=True)
class _Imported:
    """One batch's outcome: the sizes of the messages over the limit (their headers stored),
    and the first UID the folder still holds but whose message was not read (None: none)."""

    over_limit: dict[int, int]
    unread: set[int]


def _import(
    session: imaplib.IMAP4,
    batch: Sequence[int],
    config: EmailConfig,
    intake: PollIntake,
    uidvalidity: int,
) -> _Imported:
    """Store the messages `batch` names (the headers only of those over the size limit,
    which stay untouched), then mark read or move those stored whole."""
    sizes = _fetch(session, batch, "(UID RFC822.SIZE)", b"RFC822.SIZE")
    big = {uid: size for uid, size in sizes.items() if size > config.max_message_bytes}
    bodies = _fetch(
        session, [uid for uid in batch if uid in sizes and uid not in big], "(UID BODY.PEEK[])"
    )
    heads = _fetch(session, sorted(big), "(UID BODY.PEEK[HEADER])", b"BODY[HEADER]")
    stored, missing = [], []
    for uid in batch:
        name = f"{uidvalidity}:{uid}"
        if isinstance(bodies.get(uid), bytes):
            intake.store(payload_of(bodies[uid], config, uid=name))
            stored.append(uid)
        elif uid in big and isinstance(heads.get(uid), bytes):
            intake.store(payload_of(heads[uid], config, uid=name, over_limit=big[uid]))
        else:
            missing.append(uid)
    _after_import(session, stored, config)
    # Not read: gone (expunged by someone else meanwhile), or the answer lacked it.
    unread = _present(session, missing)
    return _Imported(
        over_limit={uid: size for uid, size in big.items() if uid in heads},
        unread=unread,
    )


def _unread_error(uid: int) -> ImapError:
    return ImapError(
        f"the server's answer held no message for UID {uid}, which is still in the folder; "
        "the next poll tries it again"
    )


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
        # The limit was raised: the messages left for being over it are fetched again.
        fitting = [
            uid for uid, size in state.over_limit.items() if size <= config.max_message_bytes
        ]
        if fitting:
            done = _import(session, sorted(fitting), config, intake, uidvalidity)
            # Kept: those still too big (none, unless the limit shrank again) or not read.
            kept = {
                uid: size
                for uid, size in state.over_limit.items()
                if uid not in fitting or uid in done.unread
            }
            state = replace(state, over_limit={**kept, **done.over_limit})
            intake.checkpoint(state.dump(), waiting=waiting)
            if done.unread:
                raise _unread_error(min(done.unread))
        for start in range(0, len(uids), config.imap_batch_size):
            batch = uids[start : start + config.imap_batch_size]
            done = _import(session, batch, config, intake, uidvalidity)
            oversized += list(done.over_limit)
            over_limit = {**state.over_limit, **done.over_limit}
            if done.unread:
                # The cursor stops before it; what followed it is fetched again (held once).
                state = ImapCursor(uidvalidity, min(done.unread) - 1, over_limit)
                intake.checkpoint(state.dump(), waiting=waiting)
                raise _unread_error(min(done.unread))
            waiting -= len(batch)
            state = ImapCursor(uidvalidity, batch[-1], over_limit)
            intake.checkpoint(state.dump(), waiting=waiting)
    if oversized:
        raise ImapError(
            f"{len(oversized)} message(s) over the account's size limit "
            f"({config.max_message_bytes} bytes) were left in {config.imap_folder}, untouched "
            f"(UIDs {', '.join(map(str, oversized[:20]))}{'...' if len(oversized) > 20 else ''})"
        )
