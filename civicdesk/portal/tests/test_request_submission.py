from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from civicdesk.cases.events import MessageReceived
from civicdesk.cases.models import Attachment, Case
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.citizens.models import ContactPoint
from civicdesk.core.tokens import digest
from civicdesk.portal.tests.submissions import (
    SUBMISSION_ID,
    control_tag,
    describedby,
    missed_bin_data,
    png,
    status_token,
)

pytestmark = pytest.mark.django_db


def test_a_valid_request_is_acknowledged_then_opens_one_routed_case_with_its_reference(
    riverton: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as commit_callbacks:
        response = client.post("/services/missed-bin/", missed_bin_data())

    # Acknowledged once stored, with its reference; no case until a worker takes it.
    assert response.status_code == 303
    token = status_token(response["Location"])
    acknowledged = InboundPayload.objects.get()
    assert (acknowledged.status, acknowledged.token_digest) == (
        PayloadStatus.RECEIVED,
        digest(token),
    )
    assert re.fullmatch(r"RIV-\d{4}-000001", acknowledged.reference)
    assert Case.objects.count() == 0
    waiting = client.get(response["Location"])
    assert waiting.status_code == 200
    assertContains(waiting, "<h1>Request received</h1>", html=True)
    assertContains(
        waiting, f'<strong class="reference">{acknowledged.reference}</strong>', html=True
    )
    assertContains(waiting, "It has not been routed to a team yet.")
    assertContains(waiting, f'<a class="button button--secondary" href="/requests/{token}/">')
    assertContains(waiting, "Keep the link to this page")
    assert waiting["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"

    for callback in commit_callbacks:  # the commit hands the payload to the worker
        callback()

    case = Case.objects.get()
    assert case.reference == acknowledged.reference
    assert response["Location"] == f"/requests/{token}/?new=1"
    assert case.status_token_digest == digest(token)
    assert case.channel == "portal"
    assert case.service == riverton.missed_bin
    assert case.queue == riverton.waste_queue
    assert case.answers == {"bin_type": "general", "address": "1 River Street"}
    assert case.language == "en"
    assert case.citizen.full_name == "Jo Citizen"
    assert list(ContactPoint.objects.values_list("kind", "value")) == [("email", "jo@mail.example")]
    payload = InboundPayload.objects.get()
    assert payload.status == PayloadStatus.PROCESSED
    assert payload.provider_message_id == f"portal-{SUBMISSION_ID}"
    assert json.loads(bytes(payload.body)) == {
        "submission_id": SUBMISSION_ID,
        "status_token_digest": digest(token),
        "service_code": "missed-bin",
        "answers": {"bin_type": "general", "address": "1 River Street"},
        "name": "Jo Citizen",
        "email": "jo@mail.example",
        "phone": "",
        "description": "My bin was not collected this morning.",
        "language": "en",
        "attachments": [],
    }

    page = client.get(response["Location"])

    assert page.status_code == 200
    assertContains(page, "<h1>Request sent</h1>", html=True)
    assertContains(page, f'<strong class="reference">{case.reference}</strong>', html=True)
    assert re.fullmatch(r"RIV-\d{4}-000001", case.reference)
    assertContains(page, "Keep the link to this page")
    assertContains(page, f'value="http://testserver/requests/{token}/"')
    assert token not in bytes(payload.body).decode()


def test_a_phone_number_alone_is_enough_contact(
    riverton: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/services/missed-bin/", missed_bin_data(email="", phone="07911 123456")
        )

    assert response.status_code == 303
    assert list(ContactPoint.objects.values_list("kind", "value")) == [("phone", "+447911123456")]


@pytest.mark.parametrize(
    ("changes", "field_id", "message"),
    [
        (
            {"answer_address": ""},
            "id_answer_address",
            "Answer the question “Address of the collection”.",
        ),
        (
            {"email": "jo@@mail"},
            "id_email",
            "Enter an email address in the correct format, like name@example.com.",
        ),
        (
            {"email": "", "phone": ""},
            "id_email",
            "Enter an email address or a phone number, so that we can contact you about your"
            " request.",
        ),
        (
            {"phone": "12345"},
            "id_phone",
            "Enter a phone number in the correct format, like 07911 123456 or +40 721 234 567.",
        ),
        ({"name": "  "}, "id_name", "Enter your full name."),
        ({"description": ""}, "id_description", "Describe the problem."),
    ],
)
def test_invalid_input_is_explained_next_to_its_field_and_stores_nothing(
    riverton: Any, client: Client, changes: dict[str, str], field_id: str, message: str
) -> None:
    data = missed_bin_data(**changes)

    response = client.post("/services/missed-bin/", data)

    assert response.status_code == 400
    assert InboundPayload.objects.count() == 0
    assert Case.objects.count() == 0
    assertContains(
        response,
        "<title>Error: Missed bin collection \N{EN DASH} City of Riverton</title>",
        status_code=400,
        html=True,
    )
    assertContains(
        response,
        f'<li><a href="#{field_id}">{message}</a></li>',
        status_code=400,
        html=True,
    )
    assertContains(
        response,
        f'<p class="error-message" id="{field_id}_error">'
        f'<span class="visually-hidden">Error:</span> {message}</p>',
        status_code=400,
        html=True,
    )
    control = control_tag(response.content, field_id)
    assert 'aria-invalid="true"' in control
    assert f"{field_id}_error" in describedby(control)
    # What was typed is still there.
    assertContains(response, f'name="submission_id" value="{SUBMISSION_ID}"', status_code=400)
    for name in ("answer_address", "email", "phone", "name"):
        if data[name].strip():
            assertContains(response, f'name="{name}" value="{data[name]}"', status_code=400)
    assertContains(
        response, 'value="general" id="id_answer_bin_type_0" required checked', status_code=400
    )


def test_a_missing_choice_marks_the_whole_question_group(riverton: Any, client: Client) -> None:
    response = client.post("/services/missed-bin/", missed_bin_data(answer_bin_type=None))

    assert response.status_code == 400
    assert Case.objects.count() == 0
    message = "Choose an answer to “Which bin was missed?”."
    assertContains(
        response,
        f'<li><a href="#id_answer_bin_type_0">{message}</a></li>',
        status_code=400,
        html=True,
    )
    assertContains(
        response,
        '<fieldset class="choices" aria-describedby="id_answer_bin_type_error">',
        status_code=400,
    )
    assertContains(response, 'aria-invalid="true"', count=3, status_code=400)


def test_a_number_answer_must_be_a_number(riverton: Any, client: Client) -> None:
    data = missed_bin_data(answer_location="High Street", answer_depth_cm="deep")

    response = client.post("/services/pothole/", data)

    assert response.status_code == 400
    assert Case.objects.count() == 0
    assertContains(
        response,
        '<a href="#id_answer_depth_cm">Enter a number, like 12 or 4.5, for'
        " “Roughly how deep is it (cm)?”.</a>",
        status_code=400,
        html=True,
    )
    assertContains(response, 'name="answer_depth_cm" value="deep"', status_code=400)


def test_answers_of_every_datatype_reach_the_case(
    riverton: Any, client: Client, tree_survey: Any, django_capture_on_commit_callbacks: Any
) -> None:
    data = missed_bin_data(
        answer_street="Elm Road",
        answer_size="big",
        answer_girth="42.5",
        answer_seen_at="2026-03-02T14:30",
        answer_blocking=["road", "path"],
        answer_details="",
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/services/tree/", data)

    assert response.status_code == 303
    assert Case.objects.get().answers == {
        "street": "Elm Road",
        "size": "big",
        "girth": "42.5",
        "seen_at": "2026-03-02T14:30:00+00:00",
        "blocking": ["road", "path"],
    }


def test_submitting_the_same_form_twice_opens_one_case(
    riverton: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post("/services/missed-bin/", missed_bin_data())
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post("/services/missed-bin/", missed_bin_data())

    assert first.status_code == second.status_code == 303
    assert second["Location"] == first["Location"]
    assert Case.objects.count() == 1
    assert InboundPayload.objects.count() == 1


def test_a_photo_is_attached_to_the_citizens_first_message(
    riverton: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/services/missed-bin/", {**missed_bin_data(), "attachment": png("bin.png")}
        )

    assert response.status_code == 303
    attachment = Attachment.objects.get()
    assert attachment.filename == "bin.png"
    assert attachment.content_type == "image/png"
    assert attachment.size == 64
    assert attachment.event.kind == MessageReceived.kind
    token = status_token(response["Location"])
    page = client.get(f"/requests/{token}/")
    download = f"/requests/{token}/files/{attachment.pk}/"
    assertContains(page, f'<li><a href="{download}" download>bin.png</a></li>', html=True)
    file = client.get(download)
    assert file.status_code == 200
    assert file["Content-Disposition"] == 'attachment; filename="bin.png"'
    assert file["X-Content-Type-Options"] == "nosniff"
    assert file.getvalue() == png("bin.png").read()


def test_an_attachment_over_the_limit_is_refused_with_a_message(
    riverton: Any, client: Client, settings: Any
) -> None:
    settings.CIVICDESK_MAX_ATTACHMENT_BYTES = 1000

    response = client.post(
        "/services/missed-bin/", {**missed_bin_data(), "attachment": png(size=1001)}
    )

    assert response.status_code == 400
    assert InboundPayload.objects.count() == 0
    assert Case.objects.count() == 0
    assertContains(
        response,
        '<a href="#id_attachment">The file is too big: it must be 1000\xa0bytes or smaller.</a>',
        status_code=400,
        html=True,
    )
    assertContains(
        response, "A photo (JPEG, PNG, GIF or WebP) or a PDF, up to 1000\xa0bytes.", status_code=400
    )


def test_a_file_that_is_not_an_image_or_pdf_is_refused(riverton: Any, client: Client) -> None:
    program = SimpleUploadedFile("photo.png", b"MZ\x90\x00 not a picture", "image/png")

    response = client.post("/services/missed-bin/", {**missed_bin_data(), "attachment": program})

    assert response.status_code == 400
    assert Case.objects.count() == 0
    assertContains(
        response,
        '<a href="#id_attachment">The file must be a photo (JPEG, PNG, GIF or WebP) or a PDF.</a>',
        status_code=400,
        html=True,
    )


def test_the_file_must_be_chosen_again_after_another_error(riverton: Any, client: Client) -> None:
    data = {**missed_bin_data(name=""), "attachment": png()}

    response = client.post("/services/missed-bin/", data)

    assert response.status_code == 400
    assertContains(response, "please choose your file again.", status_code=400)


def test_a_request_that_fails_processing_is_kept_and_acknowledged(
    riverton: Any, client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    form = client.get("/services/pothole/")
    assert form.status_code == 200
    riverton.pothole.is_active = False
    riverton.pothole.save()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/services/pothole/", missed_bin_data(answer_location="High Street"))

    assert response.status_code == 303
    payload = InboundPayload.objects.get()
    assert payload.status == PayloadStatus.FAILED
    assert payload.error.startswith("Unknown service 'pothole'.")
    assert json.loads(bytes(payload.body))["answers"] == {"location": "High Street"}
    assert Case.objects.count() == 0
    # The citizen is told it was received and that staff will look at it; never an error.
    page = client.get(response["Location"])
    assert page.status_code == 200
    assertContains(page, "<h1>Request received</h1>", html=True)
    assertContains(page, f'<strong class="reference">{payload.reference}</strong>', html=True)
    assertContains(page, "Our staff will look at it and follow up with you")
    assertNotContains(page, "Unknown service")
    assertNotContains(page, "not been routed")

    with django_capture_on_commit_callbacks(execute=True):
        again = client.post("/services/pothole/", missed_bin_data(answer_location="High Street"))

    assert again.status_code == 303
    assert again["Location"] == response["Location"]
    assert InboundPayload.objects.count() == 1
