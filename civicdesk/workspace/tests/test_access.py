from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import PASSWORD


@pytest.mark.parametrize(
    "path",
    [
        "/workspace/",
        "/workspace/cases/RIV-2026-000001/",
        "/workspace/cases/RIV-2026-000001/timeline/",
        "/workspace/cases/RIV-2026-000001/attachments/1/",
    ],
)
def test_anonymous_visitors_are_sent_to_the_login_page(db: None, path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/workspace/login/?next={path}"


@pytest.mark.parametrize(
    "path",
    [
        "/workspace/presence/",
        "/workspace/cases/RIV-2026-000001/reply/",
        "/workspace/cases/RIV-2026-000001/note/",
        "/workspace/cases/RIV-2026-000001/status/",
        "/workspace/cases/RIV-2026-000001/assign/",
    ],
)
def test_anonymous_posts_change_nothing_and_redirect_to_login(db: None, path: str) -> None:
    response = Client().post(path, {"body": "hello", "is_available": "0"})

    assert response.status_code == 302
    assert response["Location"].startswith("/workspace/login/?next=")


def test_login_page_has_its_own_template_and_signs_in(riverton: Any) -> None:
    client = Client()
    page = client.get("/workspace/login/")
    assert page.status_code == 200
    assert page.templates[0].name == "workspace/login.html"
    assert 'id="login-form"' in page.content.decode()

    response = client.post(
        "/workspace/login/", {"username": "ann@riverton.example", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/workspace/"
    assert client.get("/workspace/").status_code == 200


def test_wrong_password_shows_an_error_and_signs_nobody_in(riverton: Any) -> None:
    client = Client()
    response = client.post(
        "/workspace/login/", {"username": "ann@riverton.example", "password": "wrong"}
    )

    assert response.status_code == 200
    assert 'id="login-errors"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_is_a_post_and_ends_the_session(ann_client: Client) -> None:
    assert ann_client.get("/workspace/logout/").status_code == 405

    response = ann_client.post("/workspace/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/workspace/login/"
    assert ann_client.get("/workspace/").status_code == 302


def test_the_page_frame_has_landmarks_live_region_and_navigation(ann_client: Client) -> None:
    html = ann_client.get("/workspace/").content.decode()

    assert '<a class="skip-link" href="#main">Skip to main content</a>' in html
    assert '<main id="main" tabindex="-1">' in html
    assert '<div id="live-region" class="visually-hidden" aria-live="polite"' in html
    assert '<nav class="site-nav" aria-label="Workspace">' in html
    assert '<span class="site-nav__name" id="user-name">Ann Abbott</span>' in html
    assert 'id="presence-toggle"' in html
    assert 'id="logout-button"' in html
    assert '<dialog id="shortcuts-dialog"' in html
    assert "/static/workspace/vendor/htmx.min.js" in html
    assert "/static/workspace/live.js" in html
