"""Keyword search over the live search documents, one backend per database.

Both backends take the same words and answer the same `KeywordHit`s, best first: SQLite's
FTS5 (bm25, title weighted over summary over body) and PostgreSQL's full-text search (ts_rank
on a tsvector built with the dictionary of the document's language). Scores are comparable
within one answer only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection


@dataclass(frozen=True)
class KeywordHit:
    article_id: int
    version_id: int
    language: str
    slug: str
    title: str
    score: float
    snippet: str  # plain text with highlight.START / STOP around the matched words


def keyword_hits(
    *,
    words: list[str],
    languages: list[str],
    include_internal: bool,
    at: datetime,
    limit: int,
) -> list[KeywordHit]:
    """Live documents in `languages` matching any of `words`, best first."""
    if not words or limit < 1:
        return []
    if connection.vendor == "postgresql":
        from civicdesk.knowledge.search import postgres

        return postgres.hits(
            words=words, languages=languages, include_internal=include_internal, at=at, limit=limit
        )
    from civicdesk.knowledge.search import sqlite

    return sqlite.hits(
        words=words, languages=languages, include_internal=include_internal, at=at, limit=limit
    )
