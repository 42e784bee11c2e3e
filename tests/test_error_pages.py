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
    assert "it may have reached us" in html


def test_the_busy_page_speaks_the_citizens_language() -> None:
    from django.test import RequestFactory
    from django.utils import translation

    from civicdesk.core.overload import overloaded_response

    request = RequestFactory().get("/services/")
    with translation.override("ro"):
        page = overloaded_response(request, reason="test").content.decode()
    assert '<html lang="ro">' in page
    assert "<h1>Suntem foarte solicitați acum</h1>" in page
    assert "încercați din nou peste" in page
    with translation.override("en"):
        page = overloaded_response(request, reason="test").content.decode()
    assert "<h1>We are very busy right now</h1>" in page
