"""The API docs page works without internet: Swagger UI comes from CivicDesk's own static files."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client

DOCS = "/api/v1/docs"


def _asset_urls(html: str) -> list[str]:
    """Every script, stylesheet and icon address the page loads."""
    return re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)


def test_the_docs_page_loads_only_same_origin_assets_and_they_are_served(
    client: Client, db: None
) -> None:
    page = client.get(DOCS)

    assert page.status_code == 200
    urls = _asset_urls(page.content.decode())
    assert sorted(urls) == [
        "/static/ninja/favicon.png",
        "/static/ninja/favicon.svg",
        "/static/ninja/swagger-ui-bundle.js",
        "/static/ninja/swagger-ui-init.js",
        "/static/ninja/swagger-ui.css",
    ]
    assert all(not urlsplit(url).netloc for url in urls)
    types = {}
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        body = b"".join(asset.streaming_content)  # type: ignore[attr-defined]
        assert len(body) > 100, url
        types[url.rsplit(".", 1)[1]] = asset["Content-Type"].split(";")[0]
    assert types == {
        "js": "text/javascript",
        "css": "text/css",
        "png": "image/png",
        "svg": "image/svg+xml",
    }


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_docs_page_renders_the_operations_with_outside_network_blocked(
    live_server: Any, browser: Any
) -> None:
    page = browser.new_page()
    outside: list[str] = []

    def only_same_origin(route: Any) -> None:
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_same_origin)
    page.goto(f"{live_server.url}{DOCS}")

    page.locator(".opblock-summary-path", has_text="/cases").first.wait_for()
    assert page.locator(".opblock").count() > 1
    assert outside == []
