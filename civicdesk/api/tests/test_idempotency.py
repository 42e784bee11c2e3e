"""`external_id` is an integration's idempotency key, scoped to its token and tied to the body."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from civicdesk.api.tests.contacts import contact, reference, run_worker
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.catalogue.models import Service
from civicdesk.channels.models import InboundPayload, PayloadStatus

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_same_key_and_body_again_answers_the_first_contact_and_stores_nothing(
    api: httpx.Client,
) -> None:
    first = api.post("/contacts", json=contact())
    # The same contact serialised differently (keys in another order) is the same body.
    reordered = dict(reversed(list(contact().items())))
    again = api.post("/contacts", json=reordered)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    assert again.json()["reference"] == reference(1)
    assert Case.objects.count() == 1
    assert InboundPayload.objects.count() == 1
    assert CaseEvent.objects.filter(kind="case.message.received").count() == 1


def test_a_repeat_before_processing_answers_the_current_state(
    api: httpx.Client, deferred_processing: None
) -> None:
    first = api.post("/contacts", json=contact())
    again = api.post("/contacts", json=contact())

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == {**first.json(), "duplicate": True}
    run_worker()
    assert api.post("/contacts", json=contact()).json()["state"] == "processed"
    assert InboundPayload.objects.count() == 1


def test_the_same_key_with_another_body_is_a_conflict_and_nothing_is_stored(
    api: httpx.Client,
) -> None:
    first = api.post("/contacts", json=contact())
    changed = api.post("/contacts", json=contact(body="Sent again, but different."))

    assert changed.status_code == 409
    assert changed.json() == {
        "detail": "external_id 'crm-1001' was used before for a different contact; nothing was "
        "stored. Resend that contact unchanged, or use a new external_id.",
        "external_id": "crm-1001",
        "payload_id": first.json()["payload_id"],
    }
    assert InboundPayload.objects.count() == 1
    assert Case.objects.count() == 1


def test_two_integrations_with_the_same_external_id_get_separate_contacts(
    api: httpx.Client, other_integration: httpx.Client
) -> None:
    ours = api.post("/contacts", json=contact())
    theirs = other_integration.post(
        "/contacts", json=contact(body="Another contact, another system.")
    )

    assert (ours.status_code, theirs.status_code) == (201, 201)
    assert (ours.json()["reference"], theirs.json()["reference"]) == (reference(1), reference(2))
    assert theirs.json()["duplicate"] is False
    assert Case.objects.count() == 2
    assert InboundPayload.objects.filter(provider_message_id="crm-1001").count() == 2
    # Each integration follows only its own contacts.
    theirs_id = theirs.json()["payload_id"]
    assert other_integration.get(f"/contacts/{theirs_id}").status_code == 200
    hidden = api.get(f"/contacts/{theirs_id}")
    assert (hidden.status_code, hidden.json()) == (
        404,
        {"detail": f"No contact {theirs_id}.", "code": "not_found"},
    )


def test_a_corrected_resend_after_a_failure_supersedes_the_failed_contact(
    api: httpx.Client, riverton: Any, deferred_processing: None
) -> None:
    assert api.post("/contacts", json=contact(external_id="warm-up")).status_code == 202
    run_worker()
    # Withdrawn after the acknowledgement's catalogue cache read it: processing fails.
    Service.objects.filter(code="missed-bin").update(is_active=False)
    failed_id = api.post("/contacts", json=contact()).json()["payload_id"]
    run_worker()
    assert api.get(f"/contacts/{failed_id}").json()["state"] == "failed"
    # The same body again is a repeat: it answers the failure, and stores nothing.
    repeat = api.post("/contacts", json=contact())
    assert (repeat.status_code, repeat.json()["state"]) == (200, "failed")

    corrected = api.post(
        "/contacts",
        json=contact(
            service_code="pothole",
            answers={
                "location": "Mill Lane",
                "depth_cm": 5,
            },
        ),
    )
    assert corrected.status_code == 202
    new_id = corrected.json()["payload_id"]
    assert new_id != failed_id
    # It keeps the reference the integration was given for the failed one.
    assert corrected.json()["reference"] == reference(2)
    run_worker()

    assert api.get(f"/contacts/{new_id}").json()["state"] == "processed"
    old = api.get(f"/contacts/{failed_id}").json()
    assert (old["state"], old["superseded_by"]) == ("failed", new_id)
    failed = InboundPayload.objects.get(pk=failed_id)
    assert (failed.status, failed.superseded_by_id) == (PayloadStatus.FAILED, new_id)
    assert failed.superseded_at is not None
    case = Case.objects.get(reference=reference(2))
    assert case.service == riverton.pothole
    # Another repeat of the corrected contact is a duplicate of it, not a third contact.
    again = api.post(
        "/contacts",
        json=contact(
            service_code="pothole",
            answers={
                "location": "Mill Lane",
                "depth_cm": 5,
            },
        ),
    )
    assert (again.status_code, again.json()["payload_id"]) == (200, new_id)
    assert InboundPayload.objects.filter(provider_message_id="crm-1001").count() == 2


def test_identical_requests_at_once_store_one_contact(base_url: str, api: httpx.Client) -> None:
    senders = 6
    ready = threading.Barrier(senders)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def send() -> None:
        with httpx.Client(base_url=base_url, headers=api.headers, timeout=20) as client:
            ready.wait()
            response = client.post("/contacts", json=contact())
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    payload = InboundPayload.objects.get()
    assert sorted(r.status_code for r in answers).count(200) == senders - 1
    assert {r.json()["payload_id"] for r in answers} == {payload.pk}
    assert {r.json()["reference"] for r in answers} == {reference(1)}
    assert sum(not r.json()["duplicate"] for r in answers) == 1
    assert Case.objects.count() == 1
