"""Article bodies: rich text kept to a safe set of elements (nh3, the Ammonia sanitiser)."""

from __future__ import annotations

import html
import re

import nh3

from civicdesk.knowledge.kernels.highlight import without_markers

TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "ul", "ol", "li", "a", "h2", "h3", "h4",
    "blockquote", "code", "pre", "table", "caption", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title", "hreflang"}, "th": {"scope"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
_BLOCK_END = re.compile(r"</(p|li|h[1-6]|tr|blockquote|pre|table)>|<br\s*/?>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def clean_body(body: str) -> str:
    """The body with scripts, styles, event handlers and unknown elements removed."""
    return nh3.clean(
        without_markers(body),
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    ).strip()


def plain_text(body: str) -> str:
    """What a reader reads of an HTML body: paragraphs separated by a blank line."""
    text = _BLOCK_END.sub(lambda match: match.group(0) + "\n\n", body)
    text = html.unescape(nh3.clean(text, tags=set()))
    lines = [_SPACES.sub(" ", line).strip() for line in without_markers(text).split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def body_from_text(text: str) -> str:
    """HTML paragraphs for plain text (an imported answer): every character escaped."""
    paragraphs = [part.strip() for part in _BLANK_LINES.split(text.replace("\r\n", "\n"))]
    return "\n".join(
        "<p>" + "<br>".join(html.escape(line.strip()) for line in part.split("\n")) + "</p>"
        for part in paragraphs
        if part
    )
