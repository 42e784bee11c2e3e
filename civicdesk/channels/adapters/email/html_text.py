"""HTML mail: sanitised for showing, and read as plain text for the case timeline.

Sanitising uses nh3 (the Ammonia sanitiser): scripts, styles, event handlers and forms go;
images are kept only when they are the message's own (`cid:`), so that opening a message never
tells a tracker it was read. The text reading keeps what a person sees: paragraphs and line
breaks, list items, links' addresses, and quoted blocks (`<blockquote>`)
as `> ` lines, so that the quote folder treats HTML and plain mail alike.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

from civicdesk.core.html_policy import DROPPED_WITH_CONTENT, SAFE_ATTRIBUTES, SAFE_TAGS

# Quoted history keeps its `type="cite"` (how mail clients mark it) for the quote folder.
_ATTRIBUTES = {**SAFE_ATTRIBUTES, "blockquote": {"type"}}


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not value.lower().startswith("cid:"):
        return None  # remote images are trackers; the message's own images stay
    return value


def sanitise_html(html: str) -> str:
    """HTML safe to show inside a staff page (nh3 with a small allow-list)."""
    return nh3.clean(
        html,
        tags=set(SAFE_TAGS),
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel", "cid"},
        link_rel="noopener noreferrer nofollow",
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attribute_filter=_keep_attribute,
    )


_BLOCKS = {
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "footer", "form",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre",
    "section", "table", "tr", "ul",
}  # fmt: skip
_SKIPPED = {"head", "script", "style", "title", "template", "noscript", "xml"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "wbr"}
_SPACES = re.compile(r"[ \t\r\n\f\u200b]+")


class _TextReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skipping = 0
        self.pre = 0
        self.quote_depth = 0
        # Per open element: whether it opened a quote (to close it at its end tag).
        self.stack: list[tuple[str, bool]] = []
        self.link: str | None = None
        self.link_text: list[str] = []

    # -- lines --------------------------------------------------------------------------
    def _flush(self) -> None:
        text = "".join(self.current)
        if not self.pre:
            text = _SPACES.sub(" ", text).strip()
        self.current = []
        if text:
            self.lines.append("> " * self.quote_depth + text)

    def _blank(self) -> None:
        """End the line, and leave one blank line (never two) before what follows."""
        self._flush()
        if self.lines and self.lines[-1].strip("> "):
            self.lines.append(">" * self.quote_depth)

    # -- parser events ------------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
            return
        if self.skipping:
            return
        values = {name: value or "" for name, value in attrs}
        if tag in _VOID:
            self._void(tag, values)
            return
        opens_quote = tag == "blockquote"
        if tag in _BLOCKS:
            self._blank() if tag in {"p", "blockquote", "table"} else self._flush()
        if opens_quote:
            self.quote_depth += 1
        if tag == "pre":
            self.pre += 1
        if tag == "li":
            self.current.append("- ")
        if tag == "a":
            self.link = values.get("href", "")
            self.link_text = []
        if tag in {"td", "th"} and self.current:
            self.current.append(" ")
        self.stack.append((tag, opens_quote))

    def _void(self, tag: str, values: dict[str, str]) -> None:
        if tag == "br":
            if "".join(self.current).strip():
                self._flush()
            else:
                self._blank()
        elif tag == "hr":
            self._blank()
        elif tag == "img" and values.get("alt"):
            self.current.append(f"[{values['alt']}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping or tag in _VOID:
            return
        # Close up to the matching open element (HTML in mail is often unbalanced).
        names = [name for name, _ in self.stack]
        if tag not in names:
            return
        while self.stack:
            name, opened_quote = self.stack.pop()
            self._close(name, opened_quote)
            if name == tag:
                break

    def _close(self, tag: str, opened_quote: bool) -> None:
        if tag == "a" and self.link is not None:
            shown = "".join(self.link_text).strip()
            href = self.link
            self.link = None
            if href.lower().startswith(("http://", "https://")) and href.rstrip(
                "/"
            ) != shown.rstrip("/"):
                self.current.append(f" ({href})")
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in _BLOCKS:
            self._blank() if tag in {"p", "blockquote", "table"} else self._flush()
        if opened_quote:
            self._flush()
            self.quote_depth = max(0, self.quote_depth - 1)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.pre:
            parts = data.split("\n")
            for index, part in enumerate(parts):
                if index:
                    self._flush()
                self.current.append(part)
        else:
            self.current.append(data)
        if self.link is not None:
            self.link_text.append(data)

    def text(self) -> str:
        self._flush()
        while self.lines and not self.lines[-1].strip("> "):
            self.lines.pop()
        return "\n".join(line.rstrip() for line in self.lines).strip("\n")


def html_to_text(html: str) -> str:
    """What a person reads in `html`, as plain text lines (quoted blocks as `> ` lines)."""
    reader = _TextReader()
    reader.feed(html)
    reader.close()
    return reader.text()
