"""The editors' screens: articles, and their versions through draft → review → published.

Every change of state goes through the services (the same rules as imports and tests); a
version's content can be edited while it is a draft or in review, never once published, so
the history stays what readers saw. Each version links to a readable diff with the one before.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from civicdesk.knowledge import services
from civicdesk.knowledge.models import Article, ArticleVersion, VersionState
from civicdesk.knowledge.sanitise import clean_body
from civicdesk.knowledge.selectors import version_diff

CONTENT_FIELDS = ("title", "summary", "body")


class VersionInline(admin.TabularInline[ArticleVersion, Article]):
    model = ArticleVersion
    fields = ("language", "number", "title", "state", "publish_at", "expire_at", "published_by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin[Article]):
    list_display = ("slug", "is_public", "owner", "review_by", "source")
    list_filter = ("is_public", "review_by")
    search_fields = ("slug", "versions__title", "source")
    filter_horizontal = ("services",)
    inlines = [VersionInline]


def _each(request: HttpRequest, queryset: QuerySet[ArticleVersion], change: Any, done: str) -> None:
    count = 0
    for version in queryset:
        try:
            change(version)
            count += 1
        except services.WorkflowRefused as refusal:
            messages.error(request, f"{version}: {refusal.message}")
    if count:
        messages.success(request, f"{count} {done}.")


@admin.register(ArticleVersion)
class ArticleVersionAdmin(admin.ModelAdmin[ArticleVersion]):
    list_display = ("article", "language", "number", "title", "state", "publish_at", "expire_at")
    list_filter = ("state", "language")
    search_fields = ("title", "article__slug")
    autocomplete_fields = ("article",)
    actions = ("submit", "publish_now", "back_to_draft", "retire", "restore")
    readonly_fields = (
        "number",
        "state",
        "restored_from",
        "created_by",
        "created_at",
        "submitted_by",
        "submitted_at",
        "published_by",
        "published_at",
        "diff_link",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fixed = self.readonly_fields
        if obj is None:
            return fixed
        if obj.state in (VersionState.PUBLISHED, VersionState.RETIRED):
            return ("article", "language", *CONTENT_FIELDS, "publish_at", "expire_at", *fixed)
        return ("article", "language", *fixed)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            saved = services.save_draft(
                article=obj.article,
                language=obj.language,
                title=obj.title,
                summary=obj.summary,
                body=obj.body,
                by=request.user,  # type: ignore[arg-type]
            )
            obj.pk, obj.number = saved.pk, saved.number
            return
        obj.body = clean_body(obj.body)
        super().save_model(request, obj, form, change)

    @admin.display(description="Changes")
    def diff_link(self, obj: ArticleVersion) -> str:
        if obj.pk is None or obj.number == 1:
            return "—"
        url = reverse("admin:knowledge_articleversion_diff", args=[obj.pk])
        return format_html('<a href="{}">Compare with version {}</a>', url, obj.number - 1)

    def get_urls(self) -> list[URLPattern]:
        diff = path(
            "<int:pk>/diff/",
            self.admin_site.admin_view(self.diff_view),
            name="knowledge_articleversion_diff",
        )
        return [diff, *super().get_urls()]

    def diff_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        newer = get_object_or_404(ArticleVersion, pk=pk)
        older = get_object_or_404(
            ArticleVersion, article=newer.article, language=newer.language, number=newer.number - 1
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"{newer.article.slug} [{newer.language}]: v{older.number} → v{newer.number}",
            "older": older,
            "newer": newer,
            "diff": version_diff(older=older, newer=newer),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/knowledge/version_diff.html", context)

    @admin.action(description="Send to review")
    def submit(self, request: HttpRequest, queryset: QuerySet[ArticleVersion]) -> None:
        _each(
            request,
            queryset,
            lambda v: services.submit_for_review(version=v, by=request.user),  # type: ignore[arg-type]
            "sent to review",
        )

    @admin.action(description="Publish (reviewed versions; at their publication time, else now)")
    def publish_now(self, request: HttpRequest, queryset: QuerySet[ArticleVersion]) -> None:
        _each(
            request,
            queryset,
            lambda v: services.publish_version(
                version=v,
                by=request.user,  # type: ignore[arg-type]
                publish_at=v.publish_at,
                expire_at=v.expire_at,
            ),
            "published",
        )

    @admin.action(description="Send back to draft")
    def back_to_draft(self, request: HttpRequest, queryset: QuerySet[ArticleVersion]) -> None:
        _each(request, queryset, lambda v: services.return_to_draft(version=v), "back to draft")

    @admin.action(description="Retire (take off the site now)")
    def retire(self, request: HttpRequest, queryset: QuerySet[ArticleVersion]) -> None:
        _each(request, queryset, lambda v: services.retire_version(version=v), "retired")

    @admin.action(description="Restore as a new draft")
    def restore(self, request: HttpRequest, queryset: QuerySet[ArticleVersion]) -> None:
        _each(
            request,
            queryset,
            lambda v: services.restore_version(version=v, by=request.user),  # type: ignore[arg-type]
            "restored as new drafts",
        )
