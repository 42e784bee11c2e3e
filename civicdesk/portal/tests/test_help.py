"""The help pages: browse, search with highlighted words, read; public articles only."""

from __future__ import annotations

import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from civicdesk.knowledge import services
from civicdesk.knowledge.tests.factories import published

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles() -> None:
    published(
        "pets",
        versions={
            "en": ("Dogs and cats in parks", "<p>Dogs must be on a lead in parks.</p>"),
            "ro": ("Câini și pisici în parcuri", "<p>Câinii stau în lesă în parcuri.</p>"),
        },
    )
    published("parking", versions={"en": ("Parking permits", "<p>Apply online.</p>")})
    published("staff", is_public=False, versions={"en": ("Dogs: staff notes", "<p>Dogs.</p>")})
    draft = services.create_article(slug="draft")
    services.save_draft(article=draft, language="en", title="Dogs draft", body="<p>Dogs.</p>")


def _romanian(client: Client) -> None:
    client.post("/i18n/setlang/", {"language": "ro", "next": "/help/"})


def test_browsing_lists_the_public_live_articles_by_title(articles: None, client: Client) -> None:
    response = client.get("/help/")

    assertContains(response, "<h1>Find an answer</h1>", html=True)
    assertContains(response, 'class="article-card__link"', count=2)
    text = response.content.decode()
    assert text.index("Dogs and cats in parks") < text.index("Parking permits")
    assertNotContains(response, "staff notes")
    assertNotContains(response, "Dogs draft")


def test_search_shows_the_matching_articles_with_the_words_marked(
    articles: None, client: Client
) -> None:
    response = client.get("/help/", {"q": "dogs <b>lead"})

    assertContains(response, "Articles found: 1")
    assertContains(response, '<a class="article-card__link" href="/help/pets/">', count=1)
    assertContains(response, "<mark>lead</mark>")
    assertContains(response, 'value="dogs &lt;b&gt;lead"')
    assertNotContains(response, "staff notes")
    assertNotContains(response, "<b>lead")


def test_a_search_with_no_result_says_so(articles: None, client: Client) -> None:
    response = client.get("/help/", {"q": "zeppelin"})

    assertContains(response, "Articles found: 0")
    assertContains(response, "Try other words, or fewer of them.")


def test_in_romanian_the_pages_and_the_articles_are_romanian(
    articles: None, client: Client
) -> None:
    _romanian(client)

    listing = client.get("/help/")
    assertContains(listing, "<h1>Găsiți un răspuns</h1>", html=True)
    assertContains(listing, "Câini și pisici în parcuri")
    # An article with no Romanian version is listed in English, marked as English.
    assertContains(listing, '<a class="article-card__link" href="/help/parking/" lang="en">')

    found = client.get("/help/", {"q": "câinii lesă"})
    assertContains(found, "Articole găsite: 1")
    assertContains(found, "<mark>Câinii</mark>")

    article = client.get("/help/pets/")
    assertContains(article, "<h1>Câini și pisici în parcuri</h1>", html=True)
    assertContains(article, "<p>Câinii stau în lesă în parcuri.</p>", html=True)

    fallback = client.get("/help/parking/")
    assertContains(fallback, '<article class="article" lang="en">')
    assertContains(fallback, "Acest articol nu este încă disponibil în limba dumneavoastră.")


def test_an_internal_or_unpublished_article_is_not_found(articles: None, client: Client) -> None:
    assert client.get("/help/staff/").status_code == 404
    assert client.get("/help/draft/").status_code == 404
    assert client.get("/help/nothing/").status_code == 404
    assert client.get("/help/pets/").status_code == 200


def test_the_home_page_offers_the_help_search(client: Client) -> None:
    response = client.get("/")

    assertContains(response, '<form class="help-search" action="/help/" method="get"')
