"""Draft → review → published, history, restore, sanitising, and the editors' admin screens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from civicdesk.accounts.models import User
from civicdesk.core.clock import now
from civicdesk.knowledge import services
from civicdesk.knowledge.models import ArticleVersion, SearchDocument, VersionState
from civicdesk.knowledge.selectors import live_version
from civicdesk.knowledge.tests.factories import publish

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor() -> User:
    return User.objects.create_superuser("editor@riverton.example", "pw-for-tests-only")


def test_a_draft_must_be_reviewed_before_it_is_published(editor: User) -> None:
    article = services.create_article(slug="bins")
    draft = services.save_draft(article=article, language="en", title="Bins", body="<p>Weekly.</p>")

    with pytest.raises(services.WorkflowRefused):
        services.publish_version(version=draft, by=editor)
    assert live_version(slug="bins", language="en") is None
    assert SearchDocument.objects.count() == 0

    services.submit_for_review(version=draft, by=editor)
    services.publish_version(version=draft, by=editor)
    draft.refresh_from_db()
    assert (draft.state, draft.published_by) == (VersionState.PUBLISHED, editor)
    assert live_version(slug="bins", language="en") == draft


def test_the_body_is_sanitised() -> None:
    article = services.create_article(slug="x")
    body = '<p onclick="steal()">Hi <script>alert(1)</script><a href="javascript:x()">l</a></p>'
    version = services.save_draft(article=article, language="en", title="X", body=body)

    assert version.body == '<p>Hi <a rel="noopener noreferrer">l</a></p>'


def test_a_newer_version_replaces_the_older_and_history_is_kept() -> None:
    article = services.create_article(slug="bins")
    first = publish(article, "en", "Bins", "<p>Monday.</p>")
    second = publish(article, "en", "Bins", "<p>Tuesday.</p>")

    first.refresh_from_db()
    assert first.expire_at == second.publish_at
    assert live_version(slug="bins", language="en") == second
    assert [v.number for v in article.versions.filter(language="en")] == [2, 1]


def test_a_scheduled_version_leaves_the_current_one_live_until_then() -> None:
    article = services.create_article(slug="bins")
    first = publish(article, "en", "Bins", "<p>Monday.</p>")
    tomorrow = now() + timedelta(days=1)
    second = publish(article, "en", "Bins", "<p>Tuesday.</p>", publish_at=tomorrow)

    assert live_version(slug="bins", language="en") == first
    assert live_version(slug="bins", language="en", at=tomorrow) == second


def test_restoring_makes_a_new_draft_with_the_old_content() -> None:
    article = services.create_article(slug="bins")
    first = publish(article, "en", "Bins", "<p>Monday.</p>")
    publish(article, "en", "Bins on Tuesday", "<p>Tuesday.</p>")

    restored = services.restore_version(version=first, by=None)

    assert (restored.number, restored.state, restored.restored_from) == (3, "draft", first)
    assert (restored.title, restored.body) == ("Bins", "<p>Monday.</p>")


def test_an_internal_article_is_not_shown_to_citizens() -> None:
    article = services.create_article(slug="guide", is_public=False)
    version = publish(article, "en", "Guide", "<p>Staff.</p>")

    assert live_version(slug="guide", language="en") is None
    assert live_version(slug="guide", language="en", include_internal=True) == version


def test_the_admin_shows_a_readable_diff_and_restores(editor: User, client: Client) -> None:
    article = services.create_article(slug="bins")
    first = publish(article, "en", "Bins", "<p>Bins go out on Monday.</p>")
    second = publish(article, "en", "Bins", "<p>Bins go out on Tuesday &lt;b&gt;.</p>")
    client.force_login(editor)

    page = client.get(reverse("admin:knowledge_articleversion_diff", args=[second.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="diff"' in html
    assert '<span class="diff_chg">Mon</span>day' in html
    assert '<span class="diff_chg">Tues</span>day' in html
    assert "&lt;b&gt;" in html

    changelist = reverse("admin:knowledge_articleversion_changelist")
    answer = client.post(
        changelist, {"action": "restore", "_selected_action": [first.pk]}, follow=True
    )
    assert answer.status_code == 200
    restored = ArticleVersion.objects.get(article=article, number=3)
    assert (restored.state, restored.restored_from_id, restored.created_by) == (
        "draft",
        first.pk,
        editor,
    )


def test_the_admin_moves_a_draft_through_review_to_published(editor: User, client: Client) -> None:
    article = services.create_article(slug="bins")
    client.force_login(editor)
    add = reverse("admin:knowledge_articleversion_add")
    answer = client.post(
        add,
        {
            "article": article.pk,
            "language": "ro",
            "title": "Gunoi",
            "summary": "",
            "body": "<p>Luni.</p>",
        },
    )
    assert answer.status_code == 302
    draft = ArticleVersion.objects.get(article=article)
    assert (draft.number, draft.state, draft.created_by) == (1, "draft", editor)
    changelist = reverse("admin:knowledge_articleversion_changelist")
    for action in ("publish_now", "submit", "publish_now"):
        client.post(changelist, {"action": action, "_selected_action": [draft.pk]})

    draft.refresh_from_db()
    assert (draft.state, draft.submitted_by, draft.published_by) == ("published", editor, editor)
    assert live_version(slug="bins", language="ro") == draft


def test_a_published_version_cannot_be_edited_in_the_admin(editor: User, client: Client) -> None:
    article = services.create_article(slug="bins")
    version = publish(article, "en", "Bins", "<p>Monday.</p>")
    client.force_login(editor)
    url = reverse("admin:knowledge_articleversion_change", args=[version.pk])

    client.post(url, {"title": "Changed", "summary": "", "body": "<p>Changed.</p>"})

    version.refresh_from_db()
    assert (version.title, version.body) == ("Bins", "<p>Monday.</p>")
