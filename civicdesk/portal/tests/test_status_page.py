from __future__ import annotations

from typing import Any

from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from civicdesk.cases.models import Case
from civicdesk.cases.services import add_internal_note, change_case_status, reply_to_case


def test_the_status_page_shows_the_request_in_plain_words(
    portal_case: Case, client: Client, portal_token: str
) -> None:
    response = client.get(f"/requests/{portal_token}/")

    assert response.status_code == 200
    assertContains(response, f"<h1>Request {portal_case.reference}</h1>", html=True)
    assertContains(response, f"<dd>{portal_case.reference}</dd>", html=True)
    assertContains(response, "<dd>Missed bin collection</dd>", html=True)
    assertContains(
        response, '<strong class="status-tag status-tag--new">Received</strong>', html=True
    )
    assertContains(response, "<dt>Which bin was missed?</dt><dd>General waste</dd>", html=True)
    assertContains(response, "<dt>Address of the collection</dt><dd>1 River Street</dd>", html=True)
    assertContains(response, '<h3 class="timeline__title">Request received</h3>', html=True)
    assertContains(
        response,
        '<div class="timeline__body"><p>My bin was not collected this morning.</p></div>',
        html=True,
    )
    assertNotContains(response, "Request sent")


def test_the_status_page_is_kept_out_of_search_engines_and_referrers(
    portal_case: Case, client: Client, portal_token: str
) -> None:
    response = client.get(f"/requests/{portal_token}/")

    assert response["Referrer-Policy"] == "strict-origin"
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]
    assertContains(response, '<meta name="robots" content="noindex, nofollow">', html=True)


def test_a_reply_from_the_council_shows_but_an_internal_note_never_does(
    riverton: Any, portal_case: Case, client: Client, portal_token: str
) -> None:
    add_internal_note(case=portal_case, author=riverton.bob, body="Crew 4 skipped the street.")
    reply_to_case(case=portal_case, author=riverton.ann, body="We will collect it tomorrow.")

    response = client.get(f"/requests/{portal_token}/")

    assertContains(
        response, '<h3 class="timeline__title">Ann from City of Riverton replied</h3>', html=True
    )
    assertContains(response, "<p>We will collect it tomorrow.</p>", html=True)
    assertContains(
        response, '<h3 class="timeline__title">Status changed to: In progress</h3>', html=True
    )
    assertContains(
        response, '<strong class="status-tag status-tag--open">In progress</strong>', html=True
    )
    assertNotContains(response, "Crew 4")
    assertNotContains(response, "Bob")
    assertNotContains(response, "ann@riverton.example")


def test_an_unknown_token_is_a_friendly_404(riverton: Any, client: Client) -> None:
    response = client.get("/requests/not-a-real-token/")

    assert response.status_code == 404
    assertContains(response, "<h1>Page not found</h1>", status_code=404, html=True)
    assertContains(response, "make sure you used the whole link", status_code=404)
    assert response["Referrer-Policy"] == "strict-origin"


def test_a_closed_request_says_so_and_offers_a_new_one(
    riverton: Any, portal_case: Case, client: Client, portal_token: str
) -> None:
    change_case_status(case=portal_case, status="closed", by=riverton.ann)

    response = client.get(f"/requests/{portal_token}/")

    assertContains(
        response, '<strong class="status-tag status-tag--closed">Closed</strong>', html=True
    )
    assertContains(response, '<h2 id="reply-heading">This request is closed</h2>', html=True)
    assertContains(
        response,
        '<a class="button button--secondary" href="/services/missed-bin/">Start a new request</a>',
        html=True,
    )
    assertNotContains(response, 'action="/requests/')
