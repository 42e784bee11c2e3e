"""API v1 over real HTTP: httpx against a live server on loopback, with a real bearer token."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import httpx
import pytest
from django.core.management import call_command

from civicdesk.api.tests.contacts import (
    BODY,
    assert_nothing_stored,
    contact,
    reference,
    run_worker,
)
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.services import open_case
from civicdesk.catalogue.models import Service
from civicdesk.channels.models import InboundPayload, OutboundDelivery, PayloadStatus
from civicdesk.citizens.models import Citizen

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_contact_is_acknowledged_then_becomes_a_routed_case_that_staff_answer(
    api: httpx.Client, riverton: Any, deferred_processing: None, settings: Any
) -> None:
    sent = json.dumps(contact()).encode()
    response = api.post("/contacts", content=sent, headers={"Content-Type": "application/json"})

    payload = InboundPayload.objects.get()
    status_url = f"/api/v1/contacts/{payload.pk}"
    assert response.status_code == 202
    assert response.json() == {
        "reference": reference(1),
        "state": "received",
        "payload_id": payload.pk,
        "status_url": status_url,
        "duplicate": False,
    }
    # The raw body was stored as received, with tracing headers but never the token; no
    # case exists until a worker takes the payload.
    assert bytes(payload.body) == sent
    assert (payload.status, payload.reference) == (PayloadStatus.RECEIVED, reference(1))
    assert payload.provider_message_id == "crm-1001"
    assert payload.headers == {"User-Agent": "riverton-crm/2.1"}
    assert Case.objects.count() == 0
    waiting = api.get(status_url.removeprefix("/api/v1"))
    assert (waiting.status_code, waiting.json()) == (200, response.json())

    run_worker()

    processed = api.get(status_url.removeprefix("/api/v1"))
    assert processed.status_code == 200
    assert processed.json() == {
        "reference": reference(1),
        "state": "processed",
        "status": "new",
        "payload_id": payload.pk,
        "status_url": status_url,
        "duplicate": False,
        "case_url": f"/api/v1/cases/{reference(1)}",
    }
    payload.refresh_from_db()
    assert (payload.status, payload.result_reference) == (PayloadStatus.PROCESSED, reference(1))
    case = Case.objects.get()
    assert (case.queue, case.assignee) == (riverton.waste_queue, riverton.ann)

    detail = api.get(f"/cases/{reference(1)}").json()
    assert {k: detail[k] for k in ("reference", "status", "service", "queue", "assignee")} == {
        "reference": reference(1),
        "status": "new",
        "service": "missed-bin",
        "queue": "Waste",
        "assignee": "ann@riverton.example",
    }
    assert detail["citizen"] == "Jo Citizen"
    assert detail["service_name"] == "Missed bin collection"
    assert detail["answers"] == {"bin_type": "general", "address": "1 River Street"}
    assert [e["kind"] for e in detail["events"]] == [
        "case.opened",
        "case.assigned",
        "case.message.received",
    ]
    message = detail["events"][2]
    assert (message["body"], message["author"], message["channel"]) == (BODY, "Jo Citizen", "api")

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

    reply = api.post(f"/cases/{reference(1)}/replies", json={"body": "A crew will return today."})
    assert reply.status_code == 201
    event = reply.json()
    assert {k: event[k] for k in ("kind", "author", "channel", "body", "is_public")} == {
        "kind": "case.reply.sent",
        "author": "Sam Supervisor",
        "channel": "api",
        "body": "A crew will return today.",
        "is_public": True,
    }
    assert event["delivery_status"] == "sent"  # the API adapter records replies as delivered

    note = api.post(f"/cases/{reference(1)}/notes", json={"body": "Crew 4 notified."})
    assert note.status_code == 201
    assert {k: note.json()[k] for k in ("kind", "body", "is_public", "delivery_status")} == {
        "kind": "case.note.added",
        "body": "Crew 4 notified.",
        "is_public": False,
        "delivery_status": None,
    }

    detail = api.get(f"/cases/{reference(1)}").json()
    assert detail["status"] == "open"
    assert [e["kind"] for e in detail["events"]][3:] == [
        "case.reply.sent",
        "case.status.changed",
        "case.note.added",
    ]
    assert [e["title"] for e in detail["events"]][3:] == [
        "Reply by Sam Supervisor by API",
        "Status changed from New to Open by Sam Supervisor",
        "Internal note by Sam Supervisor",
    ]
    assert detail["events"][3]["id"] == event["id"]
    assert detail["first_responded_at"] is not None

    listing = api.get("/cases", params={"service": "missed-bin", "status": "open"}).json()
    assert (listing["count"], listing["limit"], listing["offset"]) == (1, 50, 0)
    assert [(row["reference"], row["citizen"]) for row in listing["items"]] == [
        (reference(1), "Jo Citizen")
    ]
    assert api.get("/cases", params={"status": "closed"}).json()["count"] == 0
    assert api.get("/cases", params={"status": "", "service": ""}).json()["count"] == 1
    bad_filters = api.get("/cases", params={"status": "lost", "limit": 0})
    assert bad_filters.status_code == 422
    assert [(e["field"], e["type"]) for e in bad_filters.json()["errors"]] == [
        ("status", "enum"),
        ("limit", "greater_than_equal"),
    ]


def test_a_contact_processed_before_the_answer_is_answered_with_its_case(
    api: httpx.Client,
) -> None:
    # The test task backend runs processing as soon as the acknowledgement commits.
    response = api.post("/contacts", json=contact())

    payload = InboundPayload.objects.get()
    assert response.status_code == 201
    assert response.json() == {
        "reference": reference(1),
        "state": "processed",
        "status": "new",
        "payload_id": payload.pk,
        "status_url": f"/api/v1/contacts/{payload.pk}",
        "duplicate": False,
        "case_url": f"/api/v1/cases/{reference(1)}",
    }
    assert Case.objects.get().reference == reference(1)


def test_requests_without_a_valid_token_are_refused(base_url: str, riverton: Any) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as anonymous:
        missing = anonymous.post("/contacts", json=contact())
        wrong = anonymous.get("/cases", headers={"Authorization": "Bearer cd_not-a-token"})

    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.json() == {
            "detail": "A valid API token is required: Authorization: Bearer <token>."
        }
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert_nothing_stored()


def test_a_body_that_is_not_json_is_refused_and_not_stored(api: httpx.Client) -> None:
    response = api.post(
        "/contacts", content=b"{'body': 'hi'", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request body is not valid JSON: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"
    }
    assert_nothing_stored()


def test_a_body_over_the_size_limit_is_refused_and_not_stored(
    api: httpx.Client, settings: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    response = api.post("/contacts", json=contact(body="x" * 2_500))

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 2000 bytes."}
    assert_nothing_stored()


def test_a_contact_that_breaks_the_schema_is_refused_field_by_field(api: httpx.Client) -> None:
    response = api.post(
        "/contacts",
        json=contact(citizen={"name": "Jo"}, subject="s" * 256, answers=[], colour="red"),
    )

    assert response.status_code == 422
    assert response.json() == {
        "detail": "The request does not match the schema; see `errors`.",
        "errors": [
            {
                "field": "subject",
                "message": "String should have at most 255 characters",
                "type": "string_too_long",
            },
            {
                "field": "answers",
                "message": "Input should be a valid dictionary",
                "type": "dict_type",
            },
            {
                "field": "colour",
                "message": "Extra inputs are not permitted",
                "type": "extra_forbidden",
            },
        ],
    }
    no_contact = api.post("/contacts", json=contact(citizen={"name": "Jo"}))
    assert no_contact.status_code == 422
    assert no_contact.json()["errors"] == [
        {
            "field": "(body)",
            "message": "Value error, give citizen.email, citizen.phone or case_reference",
            "type": "value_error",
        }
    ]
    assert_nothing_stored()


def test_an_unknown_service_is_refused_at_once_and_nothing_is_stored(api: httpx.Client) -> None:
    response = api.post("/contacts", json=contact(service_code="rats", answers={"where": "shed"}))

    assert response.status_code == 422
    assert response.json() == {
        "detail": "The contact cannot be accepted; see `errors`. Nothing was stored.",
        "errors": [
            {
                "field": "service_code",
                "message": "Unknown service 'rats'.",
                "type": "unknown_service",
            }
        ],
    }
    assert_nothing_stored()


def test_an_answer_out_of_its_range_is_refused_at_once_and_nothing_is_stored(
    api: httpx.Client,
) -> None:
    response = api.post(
        "/contacts",
        json=contact(service_code="pothole", answers={"location": "Mill Lane", "depth_cm": -5}),
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "answers",
            "message": "depth_cm: -5 is below the minimum of 0",
            "type": "invalid_answers",
        }
    ]
    assert_nothing_stored()


def test_a_contact_that_fails_in_processing_is_kept_failed_shown_and_replayed_later(
    api: httpx.Client, riverton: Any, deferred_processing: None
) -> None:
    # The acknowledgement trusts the catalogue as cached moments ago; the service was
    # withdrawn since, which only processing finds out.
    assert api.post("/contacts", json=contact(external_id="warm-up")).status_code == 202
    run_worker()
    Service.objects.filter(code="missed-bin").update(is_active=False)
    response = api.post("/contacts", json=contact())

    payload = InboundPayload.objects.get(provider_message_id="crm-1001")
    assert response.status_code == 202
    assert response.json()["state"] == "received"
    run_worker()

    payload.refresh_from_db()
    assert payload.status == PayloadStatus.FAILED
    status = api.get(f"/contacts/{payload.pk}")
    assert status.json() == {
        "reference": reference(2),
        "state": "failed",
        "detail": "Unknown service 'missed-bin'.",
        "payload_id": payload.pk,
        "status_url": f"/api/v1/contacts/{payload.pk}",
        "duplicate": False,
    }
    assert list(Case.objects.values_list("reference", flat=True)) == [reference(1)]

    Service.objects.filter(code="missed-bin").update(is_active=True)
    out = StringIO()
    call_command("payloads", "replay", str(payload.pk), stdout=out)

    assert out.getvalue() == f"Payload {payload.pk}: processed -> {reference(2)}\n"
    payload.refresh_from_db()
    assert (payload.status, payload.attempts) == (PayloadStatus.PROCESSED, 2)
    assert api.get(f"/contacts/{payload.pk}").json()["state"] == "processed"
    assert Case.objects.get(reference=reference(2)).service == riverton.missed_bin


def test_refused_case_work_answers_with_the_reason(api: httpx.Client, riverton: Any) -> None:
    citizen = Citizen.objects.create(full_name="Pat Phone")
    case = open_case(citizen=citizen, channel="phone", subject="Called in", service=None)

    unknown = api.post(f"/cases/{reference(99)}/replies", json={"body": "Hello"})
    blank = api.post(f"/cases/{case.reference}/notes", json={"body": "   "})
    by_phone = api.post(f"/cases/{case.reference}/replies", json={"body": "We rang you."})

    assert unknown.status_code == 404
    assert unknown.json() == {"detail": f"No case {reference(99)}.", "code": "not_found"}
    assert blank.status_code == 400
    assert blank.json() == {"detail": "A note needs some text.", "code": "invalid"}
    assert by_phone.status_code == 400
    assert by_phone.json() == {
        "detail": "This citizen can't be reached by reply: the case came by phone and we have "
        "no email address for them — write to them or see them in person, and record a note.",
        "code": "unreachable",
    }
    assert list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True)) == [
        "case.opened",
        "case.assigned",
    ]
    assert OutboundDelivery.objects.count() == 0


def test_the_openapi_document_describes_the_api(base_url: str) -> None:
    response = httpx.get(f"{base_url}/openapi.json", timeout=10)

    assert response.status_code == 200
    document = response.json()
    assert (document["info"]["title"], document["info"]["version"]) == ("CivicDesk API", "1")
    assert sorted(document["paths"]) == [
        "/api/v1/cases",
        "/api/v1/cases/{reference}",
        "/api/v1/cases/{reference}/notes",
        "/api/v1/cases/{reference}/replies",
        "/api/v1/contacts",
        "/api/v1/contacts/{payload_id}",
    ]
    contacts = document["paths"]["/api/v1/contacts"]["post"]
    assert sorted(contacts["responses"]) == [
        "200",
        "201",
        "202",
        "400",
        "401",
        "409",
        "413",
        "422",
    ]
    assert contacts["security"] == [{"ApiTokenAuth": []}]
    following = document["paths"]["/api/v1/contacts/{payload_id}"]["get"]
    assert sorted(following["responses"]) == ["200", "401", "404"]
    for operation in (contacts, following):
        for state in ("`received`", "`processing`", "`processed`", "`failed`", "`throttled`"):
            assert state in operation["description"]
