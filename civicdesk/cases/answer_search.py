"""Searching the written answers of cases (addresses, locations, street names) in the database.

Addresses live in a case's `answers` JSON, under whatever code the service's question has
(`address`, `location`, `street`…); citizens have no address field. `AnswerTextContains` is an
SQL condition true when any *string value* of the answers contains the term, case-insensitively:

- SQLite: `EXISTS (SELECT 1 FROM json_each(answers) … WHERE type = 'text' AND value LIKE …)`;
- PostgreSQL: `EXISTS (SELECT 1 FROM jsonb_each(answers) … WHERE jsonb_typeof(value) = 'string'
  AND value #>> '{}' ILIKE …)`.

Why this and not the alternatives: casting the whole JSON to text would also match question codes
("location" would find every pothole) and, on SQLite where Django stores JSON with ASCII escapes,
miss every address with a diacritic ("Mărului" is stored as "M\\u0103rului"); reading the values
with the engines' own JSON functions matches only what the citizen wrote, decoded. A denormalised
search column would need a migration, a backfill and every writer of answers to keep it current,
in code other work is reshaping; this condition needs none of that and stays correct whoever writes
the answers. Cost: like the subject search beside it, a scan of the filtered cases (no index
serves a leading-wildcard match), each row's answers parsed once — milliseconds for an inbox of
tens of thousands of cases. Past that, the step is a trigram (PostgreSQL) or FTS5 index over a
maintained column, with the same semantics. Precondition: answers are a JSON object (the intake
always stores one); SQLite's LIKE folds ASCII letters only, as it does for the subject search.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, F, Func
from django.db.models.sql.compiler import SQLCompiler

_SQLITE = (
    "EXISTS (SELECT 1 FROM json_each(%(expressions)s) AS answer"
    " WHERE answer.type = 'text' AND answer.value LIKE %%s ESCAPE '\\')"
)
_POSTGRESQL = (
    "EXISTS (SELECT 1 FROM jsonb_each(%(expressions)s) AS answer"
    " WHERE jsonb_typeof(answer.value) = 'string' AND (answer.value #>> '{}') ILIKE %%s)"
)


class AnswerTextContains(Func):
    """True where a string answer of the case contains `term` (any letter case).

    Written for the two engines CivicDesk runs on; on another the default template below would
    not parse, so such an engine fails loudly at the first search rather than matching wrongly.
    """

    template = "answer search is written for SQLite and PostgreSQL only (%(expressions)s)"

    output_field = BooleanField()
    conditional = True

    def __init__(self, term: str, *, answers: str = "answers") -> None:
        super().__init__(F(answers))
        self.term = term

    def _pattern(self, connection: BaseDatabaseWrapper) -> str:
        return f"%{connection.ops.prep_for_like_query(self.term)}%"

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        sql, params = super().as_sql(compiler, connection, template=_SQLITE, **extra)
        return sql, (*params, self._pattern(connection))

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        sql, params = super().as_sql(compiler, connection, template=_POSTGRESQL, **extra)
        return sql, (*params, self._pattern(connection))
