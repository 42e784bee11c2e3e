"""SQLite FTS5: `knowledge_fts` (migration 0002), kept in step with the documents by triggers."""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from civicdesk.knowledge.kernels.highlight import START, STOP, fts5_match
from civicdesk.knowledge.search import KeywordHit

# bm25 weights of the columns: title, summary, body text.
WEIGHTS = (10.0, 4.0, 1.0)
SNIPPET_TOKENS = 24

_SQL = """
SELECT d.article_id, d.version_id, d.language, a.slug, d.title,
       bm25(knowledge_fts, {weights}) AS rank,
       snippet(knowledge_fts, 2, %s, %s, '…', {tokens})
FROM knowledge_fts
JOIN knowledge_searchdocument d ON d.id = knowledge_fts.rowid
JOIN knowledge_article a ON a.id = d.article_id
WHERE knowledge_fts MATCH %s
  AND d.language IN ({languages})
  AND d.live_from <= %s AND (d.live_until IS NULL OR d.live_until > %s)
  {public}
ORDER BY rank, d.id
LIMIT %s
"""


def hits(
    *, words: list[str], languages: list[str], include_internal: bool, at: datetime, limit: int
) -> list[KeywordHit]:
    sql = _SQL.format(
        weights=", ".join(str(weight) for weight in WEIGHTS),
        tokens=SNIPPET_TOKENS,
        languages=", ".join(["%s"] * len(languages)),
        public="" if include_internal else "AND a.is_public",
    )
    moment = connection.ops.adapt_datetimefield_value(at)
    with connection.cursor() as cursor:
        cursor.execute(sql, [START, STOP, fts5_match(words), *languages, moment, moment, limit])
        rows = cursor.fetchall()
    return [
        KeywordHit(
            article_id=row[0],
            version_id=row[1],
            language=row[2],
            slug=row[3],
            title=row[4],
            score=round(-float(row[5]), 6),
            snippet=row[6] or "",
        )
        for row in rows
    ]
