"""Reading the knowledge base: what is live, for whom, and the keyword search over it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.safestring import SafeString, mark_safe

from civicdesk.core.clock import now
from civicdesk.knowledge.kernels.highlight import marked_html, query_words
from civicdesk.knowledge.models import Article, ArticleVersion, VersionState
from civicdesk.knowledge.sanitise import plain_text
from civicdesk.knowledge.search import keyword_hits

DEFAULT_LIMIT = 10


def languages() -> list[str]:
    return [code for code, _ in settings.LANGUAGES]


def article_exists(*, slug: str) -> bool:
    return Article.objects.filter(slug=slug).exists()


def live_versions(*, at: datetime | None = None) -> QuerySet[ArticleVersion]:
    """Published versions inside their window at `at` (now): at most one per article+language."""
    moment = at or now()
    return ArticleVersion.objects.filter(
        Q(expire_at__isnull=True) | Q(expire_at__gt=moment),
        state=VersionState.PUBLISHED,
        publish_at__lte=moment,
    )


def _visible(include_internal: bool) -> Q:
    return Q() if include_internal else Q(article__is_public=True)


def live_version(
    *, slug: str, language: str, include_internal: bool = False, at: datetime | None = None
) -> ArticleVersion | None:
    """The article's live version in `language`, else in the default language, else None.

    None both for a missing article and for one the reader may not see.
    """
    found = {
        version.language: version
        for version in live_versions(at=at)
        .filter(_visible(include_internal), article__slug=slug)
        .select_related("article")
    }
    return (
        found.get(language) or found.get(settings.LANGUAGE_CODE) or next(iter(found.values()), None)
    )


def browse(
    *, language: str, include_internal: bool = False, at: datetime | None = None
) -> list[ArticleVersion]:
    """One live version per article (in `language` where it has one), by title."""
    chosen: dict[int, ArticleVersion] = {}
    for version in (
        live_versions(at=at).filter(_visible(include_internal)).select_related("article")
    ):
        current = chosen.get(version.article_id)
        if current is None or (version.language == language and current.language != language):
            chosen[version.article_id] = version
    return sorted(chosen.values(), key=lambda version: version.title.casefold())


@dataclass(frozen=True)
class SearchResult:
    article_id: int
    slug: str
    language: str
    title: str
    score: float
    snippet: SafeString  # escaped text with <mark> around the matched words


def search_articles(
    *,
    query: str,
    language: str | None = None,
    limit: int = DEFAULT_LIMIT,
    include_internal: bool = False,
    at: datetime | None = None,
) -> list[SearchResult]:
    """The best live articles for a query, one result per article, best first.

    `language` None searches every language; internal articles only with `include_internal`.
    """
    searched = [language] if language else languages()
    hits = keyword_hits(
        words=query_words(query),
        languages=searched,
        include_internal=include_internal,
        at=at or now(),
        limit=max(limit, 1) * len(searched),
    )
    results: dict[int, SearchResult] = {}
    for hit in hits:
        if hit.article_id in results:
            continue
        results[hit.article_id] = SearchResult(
            article_id=hit.article_id,
            slug=hit.slug,
            language=hit.language,
            title=hit.title,
            score=hit.score,
            snippet=mark_safe(marked_html(hit.snippet)),  # noqa: S308 - escaped by marked_html
        )
        if len(results) == limit:
            break
    return list(results.values())


def version_history(*, article: Article, language: str) -> QuerySet[ArticleVersion]:
    return article.versions.filter(language=language).select_related(
        "created_by", "published_by", "submitted_by"
    )


def version_diff(*, older: ArticleVersion, newer: ArticleVersion) -> SafeString:
    """A side-by-side table of what changed between two versions (title, summary, text)."""

    def lines(version: ArticleVersion) -> list[str]:
        return [version.title, version.summary, "", *plain_text(version.body).splitlines()]

    table = difflib.HtmlDiff(wrapcolumn=70).make_table(
        lines(older),
        lines(newer),
        fromdesc=f"v{older.number}",
        todesc=f"v{newer.number}",
        context=True,
        numlines=2,
    )
    return mark_safe(table)  # noqa: S308 - HtmlDiff escapes the text it shows
