"""Keyword rules that classify free text. Pure: plain values in, plain values out.

A rule holds keywords or phrases; it matches when any of them (or, with `match_all`, every one)
appears in the text as whole words, ignoring case and accents. Rules are tried in `order`; the
first match wins, so specific rules go before general ones.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class KeywordRuleSpec:
    rule_id: int
    keywords: tuple[str, ...]
    service_code: str
    order: int = 100
    match_all: bool = False
    priority: str = ""


def fold(text: str) -> str:
    """Lower-case, accents removed (ș → s, é → e), for comparisons people expect."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def _padded(text: str) -> str:
    return " " + " ".join(words(text)) + " "


@functools.lru_cache(maxsize=4096)
def _phrase(keyword: str) -> str:
    """The keyword folded and padded as it must appear in a padded text ("" if no words)."""
    phrase = " ".join(words(keyword))
    return f" {phrase} " if phrase else ""


def keyword_matches(keyword: str, padded_text: str) -> bool:
    phrase = _phrase(keyword)
    return bool(phrase) and phrase in padded_text


def _matches_padded(rule: KeywordRuleSpec, padded: str) -> bool:
    hits = [keyword_matches(keyword, padded) for keyword in rule.keywords]
    if not hits:
        return False
    return all(hits) if rule.match_all else any(hits)


def rule_matches(rule: KeywordRuleSpec, text: str) -> bool:
    return _matches_padded(rule, _padded(text))


def first_match(rules: Iterable[KeywordRuleSpec], text: str) -> KeywordRuleSpec | None:
    """The first rule in order that matches; the text is folded once for all of them."""
    padded = _padded(text)
    for rule in sorted(rules, key=lambda r: (r.order, r.rule_id)):
        if _matches_padded(rule, padded):
            return rule
    return None


def parse_keywords(raw: str) -> tuple[str, ...]:
    """Keywords as an administrator types them: one per line or separated by commas."""
    parts: Sequence[str] = re.split(r"[,\n]", raw)
    return tuple(part.strip() for part in parts if part.strip())
