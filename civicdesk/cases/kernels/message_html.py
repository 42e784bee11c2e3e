"""A citizen's HTML message made safe for a staff page, its quoted tail folded apart.

Stored HTML is sanitised again here, each time it is shown, with this app's own allow-list
(nh3, the Ammonia sanitiser): the stored value came from a channel adapter, and the page that
marks it safe must not rest on another layer's promise; a tightened policy then applies to
every message already stored, without a data migration. Images are kept only when they are
the message's own (`cid:`) and resolve to one of its stored attachments; any other source (a
remote tracker, a `data:` URL) is dropped, so opening a message never loads anything from
outside. The cid → URL rewrite happens inside the sanitiser's attribute filter, so nothing
leaves this module that nh3 did not write.

Folding: the channel already split the message's *text* into what is new and what it repeats
(quoted history, signature). The HTML is cut at the block where that split falls: the first
element whose text, and everything after it, reads as the quoted text, while everything before
it reads as the new text (letters and digits compared in order, so that link addresses and
list bullets the text version adds do not matter). When no block fits, nothing is folded.

Pure: no Django; costs are linear in the HTML's length (two nh3 passes and one parse).
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser

import nh3

from civicdesk.core.html_policy import DROPPED_WITH_CONTENT, SAFE_ATTRIBUTES, SAFE_TAGS

# Raster images a browser shows inline without running anything (never SVG: it can script).
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

_BLOCKS = {
    "blockquote", "div", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ol", "p", "pre",
    "table", "ul",
}  # fmt: skip
_VOID = {"br", "hr", "img"}
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class SafeParts:
    """The message's HTML as nh3 wrote it: what is new, and the folded tail ("" when none)."""

    new: str
    quoted: str


def safe_message_html(
    stored: str, *, images: Mapping[str, str], new_text: str = "", quoted_text: str = ""
) -> SafeParts:
    """`stored` sanitised for a staff page, with `cid:` images pointing to `images` (content id
    → URL of the stored file) and, when `quoted_text` is given, its quoted tail split off."""
    clean = _sanitise(stored, images)
    if not quoted_text.strip():
        return SafeParts(new=clean, quoted="")
    cut = _fold(clean, new_text=new_text, quoted_text=quoted_text)
    if cut is None:
        return SafeParts(new=clean, quoted="")
    new, quoted = cut
    # The halves are cleaned again: what is marked safe is always nh3's own output.
    return SafeParts(new=_sanitise(new, images), quoted=_sanitise(quoted, images))


def _sanitise(html: str, images: Mapping[str, str]) -> str:
    resolved = set(images.values())

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            if value in resolved:  # a second pass over output that was rewritten already
                return value
            if value[:4].lower() == "cid:":
                return images.get(value[4:].strip().strip("<>"))
            return None  # remote, data: or anything else: never loaded
        return value

    return nh3.clean(
        html,
        tags=set(SAFE_TAGS),
        attributes=SAFE_ATTRIBUTES,
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        # cid: must pass the scheme check, which runs first, to reach the filter above.
        url_schemes={"http", "https", "mailto", "tel", "cid"},
        link_rel="noopener noreferrer nofollow",
        attribute_filter=keep,
    )


# --- folding ---------------------------------------------------------------------------------

# A token of sanitised HTML: ("start", tag, attrs) · ("end", tag, ()) · ("text", data, ()).
Token = tuple[str, str, tuple[tuple[str, str | None], ...]]


class _Tokens(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[Token] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append(("start", tag, tuple(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append(("start", tag, tuple(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag not in _VOID:
            self.tokens.append(("end", tag, ()))

    def handle_data(self, data: str) -> None:
        self.tokens.append(("text", data, ()))


def _words(text: str) -> str:
    return _NOT_WORD.sub("", text).casefold()


def _fold(clean: str, *, new_text: str, quoted_text: str) -> tuple[str, str] | None:
    parser = _Tokens()
    parser.feed(clean)
    parser.close()
    tokens = parser.tokens
    words = [_words(data) if kind == "text" else "" for kind, data, _ in tokens]
    fits_new = _prefix_fits(words, _words(new_text))
    fits_quoted = _suffix_fits(words, _words(quoted_text))
    seen_words = False
    for index in range(len(tokens)):
        if seen_words and fits_new[index] and fits_quoted[index] and _may_cut(tokens, index):
            return _split(tokens, index)
        seen_words = seen_words or bool(words[index])
        if not fits_new[index + 1]:
            return None
    return None


def _prefix_fits(words: list[str], target: str) -> list[bool]:
    """For each cut i (0..n): whether the words of tokens[:i] appear in order in `target`."""
    fits, position = [True], 0
    for chunk in words:
        for char in chunk:
            found = target.find(char, position)
            if found < 0:
                position = -1
                break
            position = found + 1
        if position < 0:
            fits.extend([False] * (len(words) + 1 - len(fits)))
            return fits
        fits.append(True)
    return fits


def _suffix_fits(words: list[str], target: str) -> list[bool]:
    """For each cut i (0..n): whether the words of tokens[i:] appear in order in `target`."""
    reversed_fits = _prefix_fits([chunk[::-1] for chunk in reversed(words)], target[::-1])
    return list(reversed(reversed_fits))


def _may_cut(tokens: list[Token], index: int) -> bool:
    """A cut falls before a block element, or before a line that follows a line break."""
    kind, name, _ = tokens[index]
    if kind == "start":
        return name in _BLOCKS
    return kind == "text" and index > 0 and tokens[index - 1][:2] == ("start", "br")


def _split(tokens: list[Token], index: int) -> tuple[str, str]:
    open_elements: list[Token] = []
    for kind, name, attrs in tokens[:index]:
        if kind == "start" and name not in _VOID:
            open_elements.append((kind, name, attrs))
        elif kind == "end":
            for depth in range(len(open_elements) - 1, -1, -1):
                if open_elements[depth][1] == name:
                    del open_elements[depth:]
                    break
    closing: list[Token] = [("end", name, ()) for _, name, _ in reversed(open_elements)]
    return _serialise([*tokens[:index], *closing]), _serialise([*open_elements, *tokens[index:]])


def _serialise(tokens: list[Token]) -> str:
    out: list[str] = []
    for kind, name, attrs in tokens:
        if kind == "text":
            out.append(html_lib.escape(name, quote=False))
        elif kind == "end":
            out.append(f"</{name}>")
        else:
            rendered = "".join(
                f' {key}="{html_lib.escape(value or "", quote=True)}"' for key, value in attrs
            )
            out.append(f"<{name}{rendered}>")
    return "".join(out)
