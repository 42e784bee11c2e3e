from typing import Any

import pytest
from django.test import Client


@pytest.mark.django_db
def test_an_unknown_address_gets_the_friendly_not_found_page(settings: Any) -> None:
    settings.DEBUG = False
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    content = response.content.decode()
    assert "<h1>Page not found</h1>" in content
    assert 'href="/"' in content


def test_the_server_error_page_needs_no_context() -> None:
    from django.template.loader import get_template

    html = get_template("500.html").render()
    assert "<h1>Sorry, something went wrong</h1>" in html
    assert "it may have\n      reached us" in html
