"""Articles, their language versions and the search documents of what is live.

An `Article` is one answer, whatever its language; each language has its own chain of
`ArticleVersion`s (drafts, versions in review, published ones and their history). A published
version is live from `publish_at` until `expire_at`; publishing a newer one closes the older
one's window, so at any instant at most one version per article and language is live. Each
published version has a `SearchDocument`: the text the keyword indexes read (an FTS5 table kept
by triggers on SQLite, a weighted tsvector on PostgreSQL).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicdesk.core.models import TimeStampedModel

SLUG_MAX_LENGTH = 120
TITLE_MAX_LENGTH = 500
SUMMARY_MAX_LENGTH = 600


class VersionState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class Article(TimeStampedModel):
    slug = models.SlugField(max_length=SLUG_MAX_LENGTH, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_articles",
        help_text=_("Who keeps it true: reminded when the review-by date comes."),
    )
    services = models.ManyToManyField(
        "catalogue.Service",
        blank=True,
        related_name="articles",
        help_text=_("Services it answers."),
    )
    tags = models.JSONField(default=list, blank=True)
    is_public = models.BooleanField(
        default=True, help_text=_("Unticked: internal-only, shown to staff and never to citizens.")
    )
    review_by = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=200, blank=True, help_text=_("Where it came from."))
    url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class ArticleVersion(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    number = models.PositiveIntegerField(help_text=_("1, 2, … within the article and language."))
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    summary = models.CharField(max_length=SUMMARY_MAX_LENGTH, blank=True)
    body = models.TextField(help_text=_("Sanitised HTML."))
    state = models.CharField(
        max_length=20, choices=VersionState.choices, default=VersionState.DRAFT
    )
    publish_at = models.DateTimeField(null=True, blank=True)
    expire_at = models.DateTimeField(null=True, blank=True)
    restored_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["article", "language", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "language", "number"], name="knowledge_version_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.article.slug} [{self.language}] v{self.number} ({self.state})"


class SearchDocument(models.Model):
    """The indexed text of one published version (plain text, no markup).

    Whether it is public is read from its article at search time, never copied here, so an
    article made internal is gone from the public search at once.
    """

    version = models.OneToOneField(
        ArticleVersion, on_delete=models.CASCADE, related_name="search_document"
    )
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    language = models.CharField(max_length=10)
    live_from = models.DateTimeField()
    live_until = models.DateTimeField(null=True, blank=True)
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    summary = models.CharField(max_length=SUMMARY_MAX_LENGTH, blank=True)
    text = models.TextField()
    # PostgreSQL only, with its GIN index made by migration 0002 (left empty on SQLite, where
    # the FTS5 table `knowledge_fts` of the same migration holds the index).
    vector = SearchVectorField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["language", "live_from"], name="knowledge_search_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.title} [{self.language}]"
