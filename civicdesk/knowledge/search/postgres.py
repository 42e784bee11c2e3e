"""PostgreSQL full-text search: a weighted tsvector per document, in its language's dictionary.

The dictionary of a language is PostgreSQL's own ("english", "romanian"); where a server has no
dictionary for a language, "simple" (no stemming, no stop words) stands in. A query is read
with the dictionary of every language searched and the readings OR-ed, so the GIN index
answers it whichever language each document is in.

ts_headline reads its text as HTML and drops what looks like a tag, so it is given the text
escaped, and its answer is unescaped back to plain text (kernels.highlight escapes it again).
"""

from __future__ import annotations

import html
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection

from civicdesk.knowledge.kernels.highlight import START, STOP
from civicdesk.knowledge.search import KeywordHit

DICTIONARIES = {"en": "english", "ro": "romanian"}
FALLBACK = "simple"
# Weights of D, C, B, A: body text is C, summary B, title A.
WEIGHTS = "{0.05, 0.2, 0.4, 1.0}"
HEADLINE = f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, MaxFragments=1"


@cache
def _installed() -> frozenset[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT cfgname FROM pg_ts_config")
        return frozenset(row[0] for row in cursor.fetchall())


def dictionary(language: str) -> str:
    """The text-search configuration for a language on this server."""
    name = DICTIONARIES.get(language, FALLBACK)
    return name if name in _installed() else FALLBACK


def vector_sql(language: str) -> tuple[str, list[str]]:
    """SQL (and its parameters) for the weighted tsvector of a document row in `language`."""
    config = dictionary(language)
    sql = (
        "setweight(to_tsvector(%s::regconfig, title), 'A') || "
        "setweight(to_tsvector(%s::regconfig, summary), 'B') || "
        "setweight(to_tsvector(%s::regconfig, text), 'C')"
    )
    return sql, [config, config, config]


def index_document(*, document_id: int, language: str) -> None:
    sql, params = vector_sql(language)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE knowledge_searchdocument SET vector = {sql} WHERE id = %s",  # noqa: S608
            [*params, document_id],
        )


_SQL = """
WITH q AS (SELECT {query} AS query)
SELECT d.article_id, d.version_id, d.language, a.slug, d.title,
       ts_rank(%s::float4[], d.vector, q.query, 1) AS rank,
       ts_headline(
           CASE d.language {headline_configs} ELSE 'simple'::regconfig END,
           replace(replace(replace(d.text, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'),
           q.query, %s
       )
FROM knowledge_searchdocument d
JOIN knowledge_article a ON a.id = d.article_id, q
WHERE d.vector @@ q.query
  AND d.language = ANY(%s)
  AND d.live_from <= %s AND (d.live_until IS NULL OR d.live_until > %s)
  {public}
ORDER BY rank DESC, d.id
LIMIT %s
"""


def hits(
    *, words: list[str], languages: list[str], include_internal: bool, at: datetime, limit: int
) -> list[KeywordHit]:
    configs = sorted({dictionary(language) for language in languages})
    expression = " | ".join(words)
    query = " || ".join(["to_tsquery(%s::regconfig, %s)"] * len(configs))
    query_params: list[str] = []
    for config in configs:
        query_params += [config, expression]
    headline_configs = " ".join(
        f"WHEN '{language}' THEN '{dictionary(language)}'::regconfig" for language in DICTIONARIES
    )
    sql = _SQL.format(
        query=query,
        headline_configs=headline_configs,
        public="" if include_internal else "AND a.is_public",
    )
    params: list[Any] = [*query_params, WEIGHTS, HEADLINE, languages, at, at, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        KeywordHit(
            article_id=row[0],
            version_id=row[1],
            language=row[2],
            slug=row[3],
            title=row[4],
            score=round(float(row[5]), 6),
            snippet=html.unescape(row[6] or ""),
        )
        for row in rows
    ]
