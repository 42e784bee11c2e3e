from __future__ import annotations

import re
from typing import Any

from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from civicdesk.catalogue.models import Service


def test_the_form_asks_the_services_questions_in_order(riverton: Any, client: Client) -> None:
    response = client.get("/services/missed-bin/")

    assert response.status_code == 200
    assertContains(response, "<h1>Missed bin collection</h1>", html=True)
    assertContains(response, '<legend class="label">Which bin was missed?</legend>', html=True)
    assertContains(
        response,
        '<input type="radio" name="answer_bin_type" value="recycling" id="id_answer_bin_type_1"'
        ' required><label for="id_answer_bin_type_1">Recycling</label>',
        html=True,
    )
    assertContains(
        response,
        '<label class="label" for="id_answer_address">Address of the collection</label>',
        html=True,
    )
    html = response.content.decode()
    labels = ["Which bin was missed?", "Address of the collection", "Describe the problem"]
    assert [html.index(label) for label in labels] == sorted(html.index(label) for label in labels)
    submission_id = re.search(r'name="submission_id" value="([0-9a-f]+)"', html)
    assert submission_id is not None
    assert len(submission_id.group(1)) == 32
    assertContains(response, 'enctype="multipart/form-data"')


def test_each_open311_datatype_gets_its_own_control(tree_survey: Service, client: Client) -> None:
    response = client.get("/services/tree/")

    assertContains(
        response,
        '<input type="text" name="answer_street" maxlength="5000" required id="id_answer_street">',
        html=True,
    )
    assertContains(
        response,
        '<input type="radio" name="answer_size" value="big" id="id_answer_size_1" required>',
        html=True,
    )
    assertContains(
        response,
        '<input type="number" name="answer_girth" inputmode="decimal" step="any"'
        ' aria-describedby="id_answer_girth_helptext" id="id_answer_girth">',
        html=True,
    )
    assertContains(
        response, '<p class="hint" id="id_answer_girth_helptext">Roughly.</p>', html=True
    )
    assertContains(
        response,
        '<input type="datetime-local" name="answer_seen_at" id="id_answer_seen_at">',
        html=True,
    )
    assertContains(
        response,
        '<input type="checkbox" name="answer_blocking" value="path" id="id_answer_blocking_1">',
        html=True,
    )
    assertContains(response, '<legend class="label">What does it block? ', count=1)
    assertContains(
        response,
        '<textarea name="answer_details" cols="40" rows="4" maxlength="5000"'
        ' id="id_answer_details"></textarea>',
        html=True,
    )
    assertContains(
        response, '<p class="note">If it blocks a main road, also call 999.</p>', html=True
    )
    html = response.content.decode()
    order = [
        "answer_street",
        "answer_size",
        "answer_girth",
        "answer_seen_at",
        "answer_blocking",
        "answer_details",
        "also call 999",
        'name="description"',
    ]
    positions = [html.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_an_unknown_service_is_a_friendly_404(riverton: Any, client: Client) -> None:
    response = client.get("/services/dragons/")

    assert response.status_code == 404
    assertContains(response, "<h1>Page not found</h1>", status_code=404, html=True)


def test_a_withdrawn_service_offers_no_form(riverton: Any, client: Client) -> None:
    riverton.pothole.is_active = False
    riverton.pothole.save()

    response = client.get("/services/pothole/")

    assert response.status_code == 404
    assertNotContains(response, "Where is the pothole?", status_code=404)
