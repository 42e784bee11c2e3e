"""A number outside its limits is refused next to the field, in the citizen's language."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from pytest_django.asserts import assertContains

from civicdesk.cases.models import Case
from civicdesk.channels.models import InboundPayload
from civicdesk.portal.tests.submissions import STATUS_TOKEN, SUBMISSION_ID, control_tag

pytestmark = pytest.mark.django_db


def _pothole_data(depth: str) -> dict[str, str]:
    return {
        "answer_location": "Mill Lane",
        "answer_depth_cm": depth,
        "description": "A deep hole.",
        "name": "Jo Citizen",
        "email": "jo@mail.example",
        "phone": "",
        "submission_id": SUBMISSION_ID,
        "status_token": STATUS_TOKEN,
    }


def test_the_form_tells_the_browser_the_limits(riverton: Any, client: Client) -> None:
    response = client.get("/services/pothole/")

    control = control_tag(response.content, "id_answer_depth_cm")
    assert 'min="0"' in control
    assert 'max="500"' in control


@pytest.mark.parametrize(
    ("language", "depth", "message"),
    [
        ("en", "-5", "Enter 0 or more for “Roughly how deep is it (cm)?”."),
        ("en", "501", "Enter 500 or less for “Roughly how deep is it (cm)?”."),
        (
            "ro",
            "-5",
            "Introduceți 0 sau mai mult la întrebarea „Roughly how deep is it (cm)?”.",
        ),
        (
            "ro",
            "501",
            "Introduceți 500 sau mai puțin la întrebarea „Roughly how deep is it (cm)?”.",
        ),
    ],
)
def test_a_depth_out_of_range_is_refused_next_to_the_field_and_stores_nothing(
    riverton: Any, client: Client, language: str, depth: str, message: str
) -> None:
    if language != "en":
        client.post("/i18n/setlang/", {"language": language, "next": "/"})

    response = client.post("/services/pothole/", _pothole_data(depth))

    assert response.status_code == 400
    assert InboundPayload.objects.count() == 0
    assert Case.objects.count() == 0
    assertContains(
        response,
        f'<li><a href="#id_answer_depth_cm">{message}</a></li>',
        status_code=400,
        html=True,
    )
    control = control_tag(response.content, "id_answer_depth_cm")
    assert 'aria-invalid="true"' in control
    assert f'value="{depth}"' in control


def test_a_depth_within_range_opens_the_case(
    riverton: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/services/pothole/", _pothole_data("0"))

    assert response.status_code == 303
    assert Case.objects.get().answers == {"location": "Mill Lane", "depth_cm": "0"}
