"""Keyword search on a small fixed corpus: exact orders in both languages, and who sees what."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from civicdesk.core.clock import now
from civicdesk.knowledge import services
from civicdesk.knowledge.models import ArticleVersion
from civicdesk.knowledge.selectors import search_articles
from civicdesk.knowledge.tests.factories import publish, published

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus() -> dict[str, int]:
    articles = [
        published(
            "pets",
            versions={
                "en": ("Dogs, cats and other pets", "<p>Animals in gardens must be on a lead.</p>"),
                "ro": (
                    "Animale de companie",
                    "<p>Câinii și pisicile din parcuri stau în lesă.</p>",
                ),
            },
        ),
        published(
            "bins",
            versions={
                "en": (
                    "Bin collection days",
                    "<p>Bins are collected every week. Dogs welcome.</p>",
                ),
                "ro": (
                    "Zilele de colectare a gunoiului",
                    "<p>Gunoiul se colectează săptămânal.</p>",
                ),
            },
        ),
        published(
            "parking",
            versions={
                "en": ("Parking permits", "<p>Apply for a parking permit for your street.</p>")
            },
        ),
        published(
            "staff-only",
            is_public=False,
            versions={"en": ("Dogs: handling complaints", "<p>Internal guidance on dogs.</p>")},
        ),
    ]
    return {article.slug: article.pk for article in articles}


def _slugs(query: str, **kwargs: object) -> list[str]:
    return [result.slug for result in search_articles(query=query, **kwargs)]  # type: ignore[arg-type]


def test_english_results_in_exact_order(corpus: dict[str, int]) -> None:
    assert _slugs("dogs", language="en") == ["pets", "bins"]
    assert _slugs("pet animals", language="en") == ["pets"]
    assert _slugs("collected bins", language="en") == ["bins"]
    assert _slugs("parking permit for my street", language="en") == ["parking"]


def test_romanian_results_in_exact_order_with_or_without_diacritics(corpus: dict[str, int]) -> None:
    assert _slugs("câinii", language="ro") == ["pets"]
    assert _slugs("colectare gunoi", language="ro") == ["bins"]
    assert _slugs("gunoiul", language="ro") == ["bins"]


def test_sqlite_finds_romanian_typed_without_diacritics(corpus: dict[str, int]) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("FTS5 folds diacritics; PostgreSQL has no unaccent here")
    assert _slugs("cainii", language="ro") == ["pets"]


def test_internal_articles_are_never_in_the_public_search(corpus: dict[str, int]) -> None:
    assert "staff-only" not in _slugs("dogs handling complaints")
    assert _slugs("handling complaints", include_internal=True) == ["staff-only"]


def test_drafts_scheduled_and_expired_versions_are_not_found(corpus: dict[str, int]) -> None:
    from civicdesk.knowledge.models import Article

    pets = Article.objects.get(slug="pets")
    services.save_draft(article=pets, language="en", title="Ferrets", body="<p>Ferrets.</p>")
    parking = Article.objects.get(slug="parking")
    publish(
        parking, "en", "Parking zeppelins", "<p>Zeppelin.</p>", publish_at=now() + timedelta(days=1)
    )
    gone = published(
        "gone",
        versions={"en": ("Hedgehogs", "<p>Hedgehogs.</p>")},
        publish_at=now() - timedelta(days=2),
        expire_at=now() - timedelta(days=1),
    )

    assert _slugs("ferrets") == []
    assert _slugs("zeppelins") == []
    assert _slugs("hedgehogs") == []
    assert _slugs("parking", language="en") == ["parking"]  # the old version is live till then
    assert _slugs("zeppelins", at=now() + timedelta(days=2)) == ["parking"]
    assert _slugs("parking permit", at=now() + timedelta(days=2)) == ["parking"]  # title matches
    assert _slugs("hedgehogs", at=now() - timedelta(days=1, hours=12)) == [gone.slug]


def test_an_article_made_internal_leaves_the_public_search_at_once(corpus: dict[str, int]) -> None:
    from civicdesk.knowledge.models import Article

    Article.objects.filter(slug="parking").update(is_public=False)

    assert _slugs("parking") == []


def test_the_snippet_marks_the_words_and_escapes_the_text() -> None:
    published(
        "escape",
        versions={"en": ("Noise", "<p>Loud &lt;script&gt; noise at night from a party.</p>")},
    )

    [result] = search_articles(query="noise party", language="en")

    assert "<mark>noise</mark>" in result.snippet
    assert "<mark>party</mark>" in result.snippet
    assert "&lt;script&gt;" in result.snippet
    assert "<script>" not in result.snippet


def test_operators_typed_by_a_citizen_are_plain_words(corpus: dict[str, int]) -> None:
    assert _slugs('dogs" OR NEAR(* AND', language="en") == ["pets", "bins"]
    assert _slugs("!!! ???") == []


def test_kb_search_prints_the_json_the_issue_asks_for(corpus: dict[str, int], tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command("kb", "search", "dogs", "--json", "--limit", "1", "--language", "en", stdout=out)
    [row] = json.loads(out.getvalue())
    assert set(row) == {"id", "title", "score"}
    assert (row["id"], row["title"]) == (corpus["pets"], "Dogs, cats and other pets")
    assert row["score"] > 0

    queries = tmp_path / "queries.txt"
    queries.write_text("parking permit\ncolectare gunoi\n", encoding="utf-8")
    out = StringIO()
    call_command("kb", "search", "--queries", str(queries), "--json", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [[row["id"] for row in line] for line in lines] == [
        [corpus["parking"]],
        [corpus["bins"]],
    ]
    assert lines[1][0]["title"] == "Zilele de colectare a gunoiului"


def test_a_version_number_is_per_language(corpus: dict[str, int]) -> None:
    numbers = sorted(
        ArticleVersion.objects.filter(article_id=corpus["pets"]).values_list("language", "number")
    )
    assert numbers == [("en", 1), ("ro", 1)]
