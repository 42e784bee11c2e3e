from __future__ import annotations

from typing import Any

from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains


def test_home_lists_active_services_by_group_with_links_to_their_forms(
    riverton: Any, client: Client
) -> None:
    riverton.noise.is_active = False
    riverton.noise.save()

    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Bins and recycling") < html.index("Roads and streets")
    assertContains(response, '<h2 id="group-', count=2)
    assertContains(
        response,
        '<a class="service-card__link" href="/services/missed-bin/">Missed bin collection</a>',
        html=True,
    )
    assertContains(response, "Your bin was not emptied on collection day.")
    assertContains(
        response, '<a class="service-card__link" href="/services/pothole/">Pothole</a>', html=True
    )
    assertNotContains(response, "Noise complaint")
    assertNotContains(response, ">Community<")


def test_home_page_is_a_landmarked_english_page_with_a_language_switch(
    riverton: Any, client: Client
) -> None:
    response = client.get("/")

    assertContains(response, '<html lang="en" dir="ltr">')
    assertContains(
        response, '<a class="skip-link" href="#main">Skip to main content</a>', html=True
    )
    assertContains(response, '<main id="main" class="container main" tabindex="-1">')
    assertContains(
        response, '<a class="site-header__name" href="/">City of Riverton</a>', html=True
    )
    assertContains(response, '<form class="language-switch" action="/i18n/setlang/" method="post"')
    assertContains(response, '<input type="hidden" name="next" value="/">', html=True)
    assertContains(
        response,
        '<button type="submit" name="language" value="ro" lang="ro"'
        ' class="language-switch__button">Română</button>',
        html=True,
    )
