"""Fold away what a reply repeats: the quoted history and the signature.

Agents should read what the citizen wrote this time. Clients mark history differently: an
attribution line ("On Mon, 30 Nov 2026, Ann <ann@…> wrote:", "Pe 30 nov. 2026, … a scris:"),
a header block (Outlook's "From: … Sent: …", "De la: … Trimis: …"), an "Original Message"
rule, or `>` quoting. Signatures follow the "-- " delimiter or are a phone's "Sent from my
iPhone" line.

The rule that keeps this safe: only a *tail* is ever folded. Everything from the first marker
to the end is history; text the citizen wrote between quotes (an answer inline) keeps the
whole message unfolded, and a message that would fold to nothing is kept whole. Forwarded
mail is never folded: what was forwarded is the point of it. Nothing is dropped: the folded
part is returned beside the new text.

(The maintained reply-parsing package on PyPI knows no Romanian attribution or header lines;
this folder is small, pure and tested on our corpus, in English and Romanian first.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Attribution lines, possibly wrapped over up to three lines by the client.
_ATTRIBUTION_START = re.compile(
    r"^\s*(on|am|le|el|il|op|pe|în|in data de|la|w dniu|den|em)\b", re.IGNORECASE
)
_ATTRIBUTION_END = re.compile(
    r"(wrote|writes|schrieb|a écrit|escribió|ha scritto|schreef|a scris|napisał|skrev|escreveu)"
    r"\s*:\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(original message|mesaj original|mesajul original|ursprüngliche nachricht|"
    r"message d'origine|mensaje original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{10,}\s*$")
_HEADER_FROM = re.compile(r"^\s*\*?(from|de la|de|von|van|da)\*?\s*:", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(sent|date|trimis|data|gesendet|envoyé|enviado|to|către|an|à|subject|subiect|"
    r"betreff|objet|asunto|cc)\*?\s*:",
    re.IGNORECASE,
)
_FORWARD = re.compile(
    r"^\s*(-{3,}\s*(forwarded message|mesaj redirecționat|mesaj redirectionat|"
    r"weitergeleitete nachricht|message transféré)\s*-{3,}|begin forwarded message:|"
    r"-{3,}\s*forwarded message\s*-{3,}|início da mensagem encaminhada:)\s*$",
    re.IGNORECASE,
)
_SIGNATURE_DELIMITER = re.compile(r"^-- ?$")
_MOBILE_FOOTER = re.compile(
    r"^\s*(sent from my \w[\w\s-]{0,30}|sent from (yahoo mail|mail) for \w+.*|"
    r"get outlook for (ios|android)|trimis de pe (iphone|ipad|android|telefonul)[\w\s-]{0,30}|"
    r"trimis de pe \w[\w\s-]{0,30}|von meinem \w[\w\s-]{0,30} gesendet|"
    r"envoyé de mon \w[\w\s-]{0,30})\s*\.?\s*$",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"^\s*>")


@dataclass(frozen=True)
class Folded:
    new_text: str
    # The folded signature and history, as they appeared ("" when nothing was folded).
    quoted: str


def fold(text: str, *, forwarded: bool = False) -> Folded:
    """Split `text` into what was written this time and what it repeats."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if forwarded or any(_FORWARD.match(line) for line in lines):
        return Folded(new_text=text.strip("\n").rstrip(), quoted="")
    cut = _history_start(lines)
    cut = _signature_start(lines, cut)
    new_text = "\n".join(lines[:cut]).strip("\n").rstrip()
    if not new_text.strip():
        return Folded(new_text=text.strip("\n").rstrip(), quoted="")
    quoted = "\n".join(lines[cut:]).strip("\n").rstrip()
    return Folded(new_text=new_text, quoted=quoted)


def _history_start(lines: list[str]) -> int:
    """The index of the first line of the quoted history (len(lines) when there is none)."""
    for index, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line) or _is_attribution(lines, index):
            return index
        if _RULE.match(line) and _header_block_at(lines, _next_text(lines, index + 1)):
            return index
        if _header_block_at(lines, index):
            return index
        if _QUOTED.match(line) and _only_quotes_after(lines, index):
            return index
    return len(lines)


def _is_attribution(lines: list[str], index: int) -> bool:
    if not _ATTRIBUTION_START.match(lines[index]):
        return False
    joined = ""
    for line in lines[index : index + 3]:
        joined = f"{joined} {line.strip()}"
        if _ATTRIBUTION_END.search(joined) and len(joined) < 400:
            return True
        if not line.strip():
            return False
    return False


def _header_block_at(lines: list[str], index: int) -> bool:
    """An Outlook-style header block: "From:" followed closely by "Sent:"/"To:"/"Subject:"."""
    if index >= len(lines) or not _HEADER_FROM.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 6] if line.strip()]
    return sum(1 for line in following[:4] if _HEADER_NEXT.match(line)) >= 2


def _next_text(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _only_quotes_after(lines: list[str], index: int) -> bool:
    """From `index` on, only quoted lines, blank lines and a signature remain."""
    rest = lines[index:]
    for position, line in enumerate(rest):
        if not line.strip() or _QUOTED.match(line):
            continue
        tail = rest[position:]
        return _SIGNATURE_DELIMITER.match(line) is not None or all(
            not item.strip() or _MOBILE_FOOTER.match(item) for item in tail
        )
    return True


def _signature_start(lines: list[str], cut: int) -> int:
    """Move `cut` up to the signature ending the new text, if there is one."""
    for index in range(cut - 1, -1, -1):
        if _SIGNATURE_DELIMITER.match(lines[index]):
            # A delimiter with more than a dozen lines after it is rather a divider in the text.
            if cut - index <= 12:
                return index
            break
    last = _last_text(lines, cut)
    if last is not None and _MOBILE_FOOTER.match(lines[last]):
        return last
    return cut


def _last_text(lines: list[str], cut: int) -> int | None:
    for index in range(cut - 1, -1, -1):
        if lines[index].strip():
            return index
    return None
