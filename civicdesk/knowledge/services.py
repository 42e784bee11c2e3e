"""Writing the knowledge base: articles, their versions' workflow, and the search documents.

Draft → in review → published (→ retired). Publishing a version opens its live window
[publish_at, expire_at) and closes the window of the version it replaces at the same moment,
so a version scheduled for tomorrow leaves today's one live until then. Every change to what is
live is a change to `SearchDocument` rows, in the same transaction, so the keyword indexes
never disagree with the articles.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models import Max
from django.utils.text import slugify

from civicdesk.core.clock import now
from civicdesk.core.errors import DomainError
from civicdesk.knowledge.models import (
    SLUG_MAX_LENGTH,
    SUMMARY_MAX_LENGTH,
    Article,
    ArticleVersion,
    SearchDocument,
    VersionState,
)
from civicdesk.knowledge.sanitise import clean_body, plain_text

if TYPE_CHECKING:
    from civicdesk.accounts.models import User
    from civicdesk.catalogue.models import Service


class WorkflowRefused(DomainError):
    """A version cannot move that way (the message says why)."""


def unique_slug(text: str, *, taken: set[str] | None = None) -> str:
    """A slug for `text` that no article has yet (nor any in `taken`)."""
    base = (slugify(text)[: SLUG_MAX_LENGTH - 8].strip("-")) or "article"
    candidate, suffix = base, 1
    while (taken is not None and candidate in taken) or Article.objects.filter(
        slug=candidate
    ).exists():
        suffix += 1
        candidate = f"{base}-{suffix}"
    if taken is not None:
        taken.add(candidate)
    return candidate


def create_article(
    *,
    slug: str,
    owner: User | None = None,
    is_public: bool = True,
    tags: Iterable[str] = (),
    services: Iterable[Service] = (),
    review_by: date | None = None,
    source: str = "",
    url: str = "",
) -> Article:
    article = Article.objects.create(
        slug=slug,
        owner=owner,
        is_public=is_public,
        tags=list(dict.fromkeys(tags)),
        review_by=review_by,
        source=source,
        url=url,
    )
    article.services.set(list(services))
    return article


def save_draft(
    *,
    article: Article,
    language: str,
    title: str,
    body: str,
    summary: str = "",
    by: User | None = None,
    restored_from: ArticleVersion | None = None,
) -> ArticleVersion:
    """A new draft: the next number in the article's language, its body sanitised."""
    title = " ".join(title.split())
    if not title:
        raise WorkflowRefused("A version needs a title.")
    with transaction.atomic():
        # Lock the article so two editors saving at once get different numbers.
        Article.objects.select_for_update().filter(pk=article.pk).first()
        last = article.versions.filter(language=language).aggregate(last=Max("number"))["last"]
        return ArticleVersion.objects.create(
            article=article,
            language=language,
            number=(last or 0) + 1,
            title=title,
            summary=" ".join(summary.split())[:SUMMARY_MAX_LENGTH],
            body=clean_body(body),
            created_by=by,
            restored_from=restored_from,
        )


def submit_for_review(*, version: ArticleVersion, by: User | None) -> ArticleVersion:
    if version.state != VersionState.DRAFT:
        raise WorkflowRefused(f"Only a draft can go to review; this one is {version.state}.")
    version.state = VersionState.IN_REVIEW
    version.submitted_by = by
    version.submitted_at = now()
    version.save(update_fields=["state", "submitted_by", "submitted_at"])
    return version


def return_to_draft(*, version: ArticleVersion) -> ArticleVersion:
    if version.state != VersionState.IN_REVIEW:
        raise WorkflowRefused("Only a version in review can go back to draft.")
    version.state = VersionState.DRAFT
    version.save(update_fields=["state"])
    return version


@transaction.atomic
def publish_version(
    *,
    version: ArticleVersion,
    by: User | None,
    publish_at: datetime | None = None,
    expire_at: datetime | None = None,
    reviewed: bool = True,
) -> ArticleVersion:
    """Publish a version that was reviewed (`reviewed=False`: straight from draft, for imports).

    Live from `publish_at` (now when None) until `expire_at` (never when None).
    """
    allowed = {VersionState.IN_REVIEW} if reviewed else {VersionState.DRAFT, VersionState.IN_REVIEW}
    if version.state not in allowed:
        raise WorkflowRefused(
            f"Only a version in review can be published; this one is {version.state}."
        )
    moment = now()
    start = publish_at or moment
    if expire_at is not None and expire_at <= start:
        raise WorkflowRefused("The expiry must come after the publication.")
    _close_earlier_windows(version=version, start=start)
    version.state = VersionState.PUBLISHED
    version.publish_at = start
    version.expire_at = expire_at
    version.published_by = by
    version.published_at = moment
    version.save(update_fields=["state", "publish_at", "expire_at", "published_by", "published_at"])
    _index(version)
    return version


def _close_earlier_windows(*, version: ArticleVersion, start: datetime) -> None:
    others = ArticleVersion.objects.select_for_update().filter(
        article_id=version.article_id, language=version.language, state=VersionState.PUBLISHED
    )
    for other in others.exclude(pk=version.pk):
        if other.publish_at is not None and other.publish_at >= start:
            _retire(other)  # it would never have been live
        elif other.expire_at is None or other.expire_at > start:
            other.expire_at = start
            other.save(update_fields=["expire_at"])
            SearchDocument.objects.filter(version=other).update(live_until=start)


def retire_version(*, version: ArticleVersion) -> ArticleVersion:
    """Take a published version off the site (and out of search) now."""
    if version.state != VersionState.PUBLISHED:
        raise WorkflowRefused("Only a published version can be retired.")
    with transaction.atomic():
        _retire(version)
    return version


def _retire(version: ArticleVersion) -> None:
    version.state = VersionState.RETIRED
    version.save(update_fields=["state"])
    SearchDocument.objects.filter(version=version).delete()


def restore_version(*, version: ArticleVersion, by: User | None) -> ArticleVersion:
    """A new draft with the content of an earlier version (which stays in the history)."""
    return save_draft(
        article=version.article,
        language=version.language,
        title=version.title,
        summary=version.summary,
        body=version.body,
        by=by,
        restored_from=version,
    )


def _index(version: ArticleVersion) -> None:
    assert version.publish_at is not None
    document, _ = SearchDocument.objects.update_or_create(
        version=version,
        defaults={
            "article_id": version.article_id,
            "language": version.language,
            "live_from": version.publish_at,
            "live_until": version.expire_at,
            "title": version.title,
            "summary": version.summary,
            "text": plain_text(version.body),
        },
    )
    if connection.vendor == "postgresql":
        from civicdesk.knowledge.search import postgres

        postgres.index_document(document_id=document.pk, language=version.language)


def rebuild_search_documents() -> int:
    """Every published version's document written again (after a dictionary change)."""
    count = 0
    with transaction.atomic():
        for version in ArticleVersion.objects.filter(state=VersionState.PUBLISHED):
            _index(version)
            count += 1
    return count
