"""The keyword indexes of the search documents, one per database.

SQLite: an FTS5 table over `knowledge_searchdocument` (external content), kept by triggers, so
every insert, update or delete of a search document reaches the index in the same transaction.
Porter stemming with diacritics folded: "școală" and "scoala" match, as do "pets" and "pet".
PostgreSQL: a GIN index on the weighted tsvector the services write.
"""

from django.db import migrations

SQLITE_UP = [
    """CREATE VIRTUAL TABLE knowledge_fts USING fts5(
        title, summary, text,
        content='knowledge_searchdocument', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER knowledge_fts_insert AFTER INSERT ON knowledge_searchdocument BEGIN
        INSERT INTO knowledge_fts(rowid, title, summary, text)
        VALUES (new.id, new.title, new.summary, new.text);
    END""",
    """CREATE TRIGGER knowledge_fts_delete AFTER DELETE ON knowledge_searchdocument BEGIN
        INSERT INTO knowledge_fts(knowledge_fts, rowid, title, summary, text)
        VALUES ('delete', old.id, old.title, old.summary, old.text);
    END""",
    """CREATE TRIGGER knowledge_fts_update AFTER UPDATE ON knowledge_searchdocument BEGIN
        INSERT INTO knowledge_fts(knowledge_fts, rowid, title, summary, text)
        VALUES ('delete', old.id, old.title, old.summary, old.text);
        INSERT INTO knowledge_fts(rowid, title, summary, text)
        VALUES (new.id, new.title, new.summary, new.text);
    END""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS knowledge_fts_update",
    "DROP TRIGGER IF EXISTS knowledge_fts_delete",
    "DROP TRIGGER IF EXISTS knowledge_fts_insert",
    "DROP TABLE IF EXISTS knowledge_fts",
]
POSTGRES_UP = [
    "CREATE INDEX knowledge_search_vector ON knowledge_searchdocument USING gin (vector)",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS knowledge_search_vector"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
