"""Importing and exporting the knowledge base as CSV or JSONL (the format of `kb import`).

An import is all-or-nothing: the file is read and checked whole (kernels.faq_files) before the
first write, and written in one transaction. A row names one article by its question, language,
source and url (and, for a question the file asks twice with different answers, which time):
importing the same file again changes nothing; a changed answer becomes a new published version
of the same article.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from civicdesk.knowledge import services
from civicdesk.knowledge.kernels.faq_files import FaqFile, FaqRow, read_faq_file, row_key
from civicdesk.knowledge.models import ArticleVersion
from civicdesk.knowledge.sanitise import body_from_text, clean_body, plain_text
from civicdesk.knowledge.selectors import languages, live_versions

EXPORT_COLUMNS = ("title", "body", "language", "source", "url", "tags", "visibility")


@dataclass(frozen=True)
class ImportSummary:
    rows: int
    created: int
    updated: int
    unchanged: int
    repeated: int
    ignored_columns: tuple[str, ...]


def read_file(data: bytes, *, fmt: str, columns: dict[str, str] | None = None) -> FaqFile:
    """The checked rows of a file, or kernels.faq_files.FileRefused."""
    return read_faq_file(
        data,
        fmt=fmt,
        languages=languages(),
        default_language=settings.LANGUAGE_CODE,
        columns=columns,
    )


def _version_key(version: ArticleVersion) -> tuple[str, str, str, str]:
    article = version.article
    return (version.language, version.title.casefold(), article.source, article.url)


def import_rows(faq: FaqFile, *, on_row: Callable[[FaqRow], None] | None = None) -> ImportSummary:
    """Write the rows in one transaction: new articles, new versions of changed ones."""
    created = updated = unchanged = 0
    with transaction.atomic():
        current: dict[tuple[str, str, str, str], list[ArticleVersion]] = {}
        for version in live_versions().select_related("article").order_by("article_id"):
            current.setdefault(_version_key(version), []).append(version)
        for row in faq.rows:
            body = clean_body(body_from_text(row.body))  # as save_draft stores it
            same = current.get(row_key(row), [])
            existing = same[row.occurrence] if row.occurrence < len(same) else None
            if existing is not None and existing.body == body:
                unchanged += 1
            elif existing is not None:
                draft = services.save_draft(
                    article=existing.article, language=row.language, title=row.title, body=body
                )
                services.publish_version(version=draft, by=None, reviewed=False)
                updated += 1
            else:
                article = services.create_article(
                    slug=services.unique_slug(row.title),
                    is_public=row.is_public,
                    tags=row.tags,
                    source=row.source,
                    url=row.url,
                )
                draft = services.save_draft(
                    article=article, language=row.language, title=row.title, body=body
                )
                services.publish_version(version=draft, by=None, reviewed=False)
                created += 1
            if on_row is not None:
                on_row(row)
    return ImportSummary(
        rows=len(faq.rows),
        created=created,
        updated=updated,
        unchanged=unchanged,
        repeated=faq.repeated,
        ignored_columns=faq.ignored_columns,
    )


def export_records() -> Iterator[dict[str, str | list[str]]]:
    """Every live version as a record of the import format, by article then language."""
    for version in live_versions().select_related("article").order_by("article_id", "language"):
        article = version.article
        yield {
            "title": version.title,
            "body": plain_text(version.body),
            "language": version.language,
            "source": article.source,
            "url": article.url,
            "tags": list(article.tags),
            "visibility": "public" if article.is_public else "internal",
        }


def export_text(*, fmt: str) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in export_records())
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in export_records():
        tags = record["tags"]
        writer.writerow({**record, "tags": ";".join(tags) if isinstance(tags, list) else tags})
    return out.getvalue()
