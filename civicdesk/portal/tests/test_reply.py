from __future__ import annotations

import json
from typing import Any

from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from civicdesk.cases.events import MessageReceived
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.services import change_case_status, reply_to_case
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.core.tokens import digest
from civicdesk.portal.tests.submissions import SUBMISSION_ID, control_tag, png


def test_a_citizen_reply_is_acknowledged_then_lands_on_the_same_case(
    riverton: Any,
    portal_case: Case,
    client: Client,
    portal_token: str,
    django_capture_on_commit_callbacks: Any,
) -> None:
    reply_to_case(case=portal_case, author=riverton.ann, body="Which colour is the bin?")
    url = f"/requests/{portal_token}/"

    with django_capture_on_commit_callbacks() as commit_callbacks:
        response = client.post(
            f"{url}reply",
            {"body": "It is the green one.", "submission_id": SUBMISSION_ID, "attachment": png()},
        )

    assert response.status_code == 303
    assert response["Location"] == url
    acknowledged = client.get(url)
    assertContains(
        acknowledged,
        '<div class="notification" role="status"><p>Thank you — your message has been '
        "received. It will appear in the history below once it has been filed; refresh this "
        "page to see it.</p></div>",
        html=True,
    )
    assertNotContains(acknowledged, "It is the green one.")
    for callback in commit_callbacks:  # the commit hands the payload to the worker
        callback()

    assert Case.objects.count() == 1
    message = CaseEvent.objects.filter(case=portal_case, kind=MessageReceived.kind).last()
    assert message is not None
    assert message.body == "It is the green one."
    assert message.channel == "portal"
    assert [a.filename for a in message.attachments.all()] == ["photo.png"]
    payload = InboundPayload.objects.get(provider_message_id=f"portal-{SUBMISSION_ID}")
    assert payload.status == PayloadStatus.PROCESSED
    assert payload.result_reference == portal_case.reference
    stored = json.loads(bytes(payload.body))
    # The link's secret never reaches storage: the payload names the case by its digest.
    assert stored["status_token_digest"] == digest(portal_token)
    assert portal_token not in bytes(payload.body).decode()

    page = client.get(url)

    assertNotContains(page, "Thank you")  # said once
    assertContains(page, "<p>It is the green one.</p>", html=True)


def test_the_same_reply_sent_twice_is_stored_once(
    portal_case: Case, client: Client, portal_token: str, django_capture_on_commit_callbacks: Any
) -> None:
    url = f"/requests/{portal_token}/reply"
    data = {"body": "Any news?", "submission_id": SUBMISSION_ID}

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(url, data)
    with django_capture_on_commit_callbacks(execute=True):
        second = client.post(url, data)

    assert first.status_code == second.status_code == 303
    assert CaseEvent.objects.filter(case=portal_case, body="Any news?").count() == 1


def test_an_empty_reply_is_refused_and_stores_nothing(
    portal_case: Case, client: Client, portal_token: str
) -> None:
    payloads = InboundPayload.objects.count()
    events = CaseEvent.objects.count()

    response = client.post(
        f"/requests/{portal_token}/reply",
        {"body": "   ", "submission_id": SUBMISSION_ID},
    )

    assert response.status_code == 400
    assert InboundPayload.objects.count() == payloads
    assert CaseEvent.objects.count() == events
    assertContains(
        response,
        '<li><a href="#id_body">Write a message before sending it.</a></li>',
        status_code=400,
        html=True,
    )
    assert 'aria-invalid="true"' in control_tag(response.content, "id_body")
    assert response["Referrer-Policy"] == "strict-origin"


def test_a_reply_to_a_closed_request_is_refused_and_kept_on_screen(
    riverton: Any, portal_case: Case, client: Client, portal_token: str
) -> None:
    change_case_status(case=portal_case, status="closed", by=riverton.ann)
    payloads = InboundPayload.objects.count()
    events = CaseEvent.objects.count()

    response = client.post(
        f"/requests/{portal_token}/reply",
        {"body": "Still not collected.", "submission_id": SUBMISSION_ID},
    )

    assert response.status_code == 400
    assert InboundPayload.objects.count() == payloads
    assert CaseEvent.objects.count() == events
    assertContains(
        response,
        "<li>This request is closed, so it cannot take new messages.</li>",
        status_code=400,
        html=True,
    )
    assertContains(response, ">Still not collected.</textarea>", status_code=400)
    assertContains(response, "Start a new request", status_code=400)


def test_a_reply_to_an_unknown_token_is_a_404(riverton: Any, client: Client) -> None:
    response = client.post("/requests/nope/reply", {"body": "Hello"})

    assert response.status_code == 404
    assert InboundPayload.objects.count() == 0


def test_the_reply_address_takes_no_other_method_than_get_and_post(
    portal_case: Case, client: Client, portal_token: str
) -> None:
    events_before = list(portal_case.events.values_list("pk", flat=True))

    response = client.put(f"/requests/{portal_token}/reply", {"body": "Any news?"})

    assert response.status_code == 405
    assert list(portal_case.events.values_list("pk", flat=True)) == events_before
