"""Published articles for tests, made through the services (as editors and imports make them)."""

from __future__ import annotations

from datetime import datetime

from civicdesk.knowledge import services
from civicdesk.knowledge.models import Article, ArticleVersion


def published(
    slug: str,
    *,
    versions: dict[str, tuple[str, str]],
    is_public: bool = True,
    publish_at: datetime | None = None,
    expire_at: datetime | None = None,
) -> Article:
    """An article with one published version per language: {language: (title, body html)}."""
    article = services.create_article(slug=slug, is_public=is_public)
    for language, (title, body) in versions.items():
        publish(article, language, title, body, publish_at=publish_at, expire_at=expire_at)
    return article


def publish(
    article: Article,
    language: str,
    title: str,
    body: str,
    *,
    publish_at: datetime | None = None,
    expire_at: datetime | None = None,
) -> ArticleVersion:
    draft = services.save_draft(article=article, language=language, title=title, body=body)
    services.submit_for_review(version=draft, by=None)
    return services.publish_version(
        version=draft, by=None, publish_at=publish_at, expire_at=expire_at
    )
