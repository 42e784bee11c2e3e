"""Snippets with the matched words marked, built safely.

The databases mark matches with two brackets that never occur in indexed text
(`sanitise.plain_text` removes them); the snippet is HTML-escaped first and only then are the
markers turned into <mark> elements, so article text can never inject markup.
"""

from __future__ import annotations

import html
import re

START = "\u27e6"  # ⟦, printable: PostgreSQL's ts_headline drops control characters
STOP = "\u27e7"  # ⟧
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u27e6\u27e7]")
_WORD = re.compile(r"\w+", re.UNICODE)


def without_markers(text: str) -> str:
    """The text without control characters and without the two markers."""
    return _CONTROL.sub("", text)


def marked_html(snippet: str) -> str:
    """HTML for a snippet whose matches sit between START and STOP."""
    escaped = html.escape(snippet, quote=True)
    return escaped.replace(START, "<mark>").replace(STOP, "</mark>")


def query_words(query: str, *, limit: int = 32) -> list[str]:
    """The words of a citizen's query, lower-cased, in order, each once (at most `limit`)."""
    words = dict.fromkeys(word.lower() for word in _WORD.findall(query) if word.strip("_"))
    return list(words)[:limit]


def fts5_match(words: list[str]) -> str:
    """An FTS5 MATCH expression: any of the words (OR; bm25 ranks those with more first).

    Each word is a quoted string, so FTS5 operators typed by a citizen are plain words.
    """
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)
