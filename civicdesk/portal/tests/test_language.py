from __future__ import annotations

import re
from typing import Any

from django.test import Client
from pytest_django.asserts import assertContains

from civicdesk.cases.models import Case
from civicdesk.portal.tests.submissions import missed_bin_data


def _switch_to_romanian(client: Client, next_url: str) -> None:
    response = client.post("/i18n/setlang/", {"language": "ro", "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == next_url


def test_switching_to_romanian_translates_the_portal_and_the_catalogue(
    riverton: Any, client: Client
) -> None:
    _switch_to_romanian(client, "/")

    response = client.get("/")

    assertContains(response, '<html lang="ro" dir="ltr">')
    assertContains(response, "<h1>Cum vă putem ajuta?</h1>", html=True)
    assertContains(
        response, '<a class="skip-link" href="#main">Sari la conținutul principal</a>', html=True
    )
    assertContains(response, '<h2 id="group-', count=3)
    assertContains(response, "Gunoi și reciclare")
    assertContains(response, "Drumuri și străzi")
    assertContains(
        response,
        '<a class="service-card__link" href="/services/missed-bin/">Colectare ratată</a>',
        html=True,
    )
    assertContains(response, "Pubela nu a fost golită.")
    # Entries without a Romanian translation fall back to their original name.
    assertContains(response, ">Pothole</a>")


def test_a_romanian_request_is_answered_in_romanian(
    riverton: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    _switch_to_romanian(client, "/services/missed-bin/")

    invalid = client.post("/services/missed-bin/", missed_bin_data(email="", phone=""))

    assertContains(
        invalid,
        "<title>Eroare: Colectare ratată \N{EN DASH} City of Riverton</title>",
        status_code=400,
        html=True,
    )
    assertContains(invalid, "A apărut o problemă", status_code=400)
    assertContains(
        invalid,
        '<a href="#id_email">Introduceți o adresă de e-mail sau un număr de telefon, '
        "ca să vă putem contacta în legătură cu solicitarea dumneavoastră.</a>",
        status_code=400,
        html=True,
    )

    with django_capture_on_commit_callbacks() as commit_callbacks:
        response = client.post("/services/missed-bin/", missed_bin_data())
    waiting = client.get(response["Location"])
    assertContains(waiting, "<h1>Solicitare primită</h1>", html=True)
    assertContains(waiting, "Reîncărcați pagina")
    for callback in commit_callbacks:
        callback()
    case = Case.objects.get()
    page = client.get(response["Location"])

    assert case.language == "ro"
    assertContains(page, "<h1>Solicitare trimisă</h1>", html=True)
    assertContains(page, '<strong class="status-tag status-tag--new">Primită</strong>', html=True)
    assertContains(page, "<dd>Colectare ratată</dd>", html=True)


def _language_next(html: bytes) -> str:
    """Where the page's language switch sends the citizen back to."""
    match = re.search(r'<input type="hidden" name="next" value="([^"]*)">', html.decode())
    assert match is not None
    return match.group(1)


def test_switching_language_after_a_refused_reply_lands_on_the_status_page(
    portal_case: Any, client: Client, portal_token: str
) -> None:
    refused = client.post(f"/requests/{portal_token}/reply", {"body": "", "submission_id": "x"})
    assert refused.status_code == 400
    next_url = _language_next(refused.content)
    assert next_url == f"/requests/{portal_token}/"

    switched = client.post("/i18n/setlang/", {"language": "ro", "next": next_url}, follow=True)

    assert switched.redirect_chain == [(f"/requests/{portal_token}/", 302)]
    assertContains(switched, '<html lang="ro" dir="ltr">')
    assertContains(switched, f"<h1>Solicitarea {portal_case.reference}</h1>", html=True)


def test_the_reply_address_opened_directly_leads_to_the_status_page(
    portal_case: Any, client: Client, portal_token: str
) -> None:
    response = client.get(f"/requests/{portal_token}/reply")

    assert response.status_code == 303
    assert response["Location"] == f"/requests/{portal_token}/"
    assert response["Referrer-Policy"] == "strict-origin"


def test_the_reply_address_of_an_unknown_link_is_not_found(client: Client, db: None) -> None:
    response = client.get("/requests/no-such-link/reply")

    assert response.status_code == 404
