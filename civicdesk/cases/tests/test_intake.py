import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from civicdesk.cases.events import CaseAssigned, MessageReceived
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.services import change_case_status, issue_status_token
from civicdesk.channels.contracts import RawPayload
from civicdesk.channels.models import PayloadStatus
from civicdesk.channels.services import Acceptance, accept_inbound
from civicdesk.citizens.models import Citizen, ContactPoint
from civicdesk.citizens.services import mark_contact_point_undeliverable
from civicdesk.core.tokens import digest
from tests.factories import console_payload, portal_payload

pytestmark = pytest.mark.django_db


def _portal(**fields: Any) -> Case:
    acceptance = accept_inbound(channel="portal", raw=portal_payload(**fields), process_now=True)
    assert acceptance.payload.status == PayloadStatus.PROCESSED, acceptance.payload.error
    return Case.objects.get(reference=acceptance.payload.result_reference)


def _console(**fields: Any) -> Case:
    acceptance = accept_inbound(channel="console", raw=console_payload(**fields), process_now=True)
    assert acceptance.payload.status == PayloadStatus.PROCESSED, acceptance.payload.error
    return Case.objects.get(reference=acceptance.payload.result_reference)


def test_a_form_request_opens_a_case_with_a_reference_and_answers(riverton: Any) -> None:
    case = _portal()
    year = datetime.now(tz=UTC).year
    assert case.reference == f"RIV-{year}-000001"
    assert len(case.status_token_digest) == 64
    assert case.service == riverton.missed_bin
    assert case.answers == {"bin_type": "general", "address": "1 River Street"}
    assert case.channel == "portal"
    assert case.status == "new"
    assert case.subject == "My bin was not collected this morning."
    assert _portal().reference == f"RIV-{year}-000002"


def test_cases_route_by_service_round_robin_among_available_agents(riverton: Any) -> None:
    assignees = [_portal().assignee for _ in range(4)]
    assert assignees == [riverton.ann, riverton.bob, riverton.ann, riverton.bob]
    pothole = _portal(service_code="pothole", answers={"location": "Mill Lane"})
    assert pothole.queue == riverton.roads_queue
    assert pothole.assignee == riverton.cara


def test_when_nobody_is_available_the_case_waits_in_its_queue(riverton: Any) -> None:
    riverton.cara.is_available = False
    riverton.cara.save()
    case = _portal(service_code="pothole", answers={"location": "Mill Lane"})
    assert case.queue == riverton.roads_queue
    assert case.assignee is None
    event = case.events.get(kind=CaseAssigned.kind)
    assert event.as_event() == CaseAssigned(
        reference=case.reference,
        status="new",
        queue_id=riverton.roads_queue.pk,
        assignee_id=None,
        priority="normal",
        queue="Roads",
        waiting=True,
        automatic=True,
    )


def test_sla_targets_follow_the_policy_in_business_hours(riverton: Any) -> None:
    # Friday 27 November 2026, 15:00 London: normal = 8 h first response, 40 h resolution.
    opened = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    payload = json.loads(portal_payload().body)
    from civicdesk.cases.services import open_case

    citizen = Citizen.objects.create(full_name="Jo")
    case = open_case(
        citizen=citizen,
        channel="portal",
        subject="x",
        service=riverton.missed_bin,
        answers=payload["answers"],
        opened_at=opened,
    )
    assert case.sla_policy_name == "Standard"
    assert case.first_response_due_at == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    # 2 h on Friday, 32 h Monday to Thursday, 6 h on the next Friday.
    assert case.resolution_due_at == datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
    assert case.sla_due_at == case.first_response_due_at


def test_free_text_is_classified_by_keyword_rules(riverton: Any) -> None:
    case = _console(text="There is a huge pothole outside the school")
    assert case.service == riverton.pothole
    assert case.classified_by == "rule: Potholes"
    assert case.queue == riverton.roads_queue
    unmatched = _console(text="When is the library open?", **{"from": "kim@mail.example"})
    assert unmatched.service is None
    assert unmatched.queue == riverton.general_queue


def test_the_same_person_is_recognised_across_channels(riverton: Any) -> None:
    first = _portal(email="Jo@Mail.Example", phone="07911 123456")
    second = _console(**{"from": "+447911123456", "text": "any news?"})
    assert second.citizen == first.citizen
    assert Citizen.objects.count() == 1
    assert set(ContactPoint.objects.values_list("kind", "value")) == {
        ("email", "jo@mail.example"),
        ("phone", "+447911123456"),
    }


def test_conversational_messages_join_the_senders_open_case(riverton: Any) -> None:
    first = _console(text="My bin was missed")
    again = _console(text="Still not collected")
    assert again == first
    assert first.events.filter(kind=MessageReceived.kind).count() == 2


def _reply_by_link(case: Case, text: str) -> Acceptance:
    """The citizen writes from the case's private status page."""
    raw = portal_payload(
        status_token_digest=digest(issue_status_token(case=case)),
        service_code="",
        answers={},
        email="",
        description=text,
    )
    return accept_inbound(channel="portal", raw=raw, process_now=True)


def test_form_requests_always_open_a_new_case(riverton: Any) -> None:
    assert _portal() != _portal()


def test_a_reply_by_status_token_lands_on_that_case(riverton: Any) -> None:
    case = _portal()
    change_case_status(case=case, status="resolved", by=riverton.ann)
    reply = _reply_by_link(case, "It has still not been collected.")
    assert reply.payload.result_reference == case.reference
    case.refresh_from_db()
    assert case.status == "reopened"
    assert case.resolved_at is None
    assert Case.objects.count() == 1


def test_a_closed_case_refuses_further_messages(riverton: Any) -> None:
    case = _portal()
    change_case_status(case=case, status="closed", by=riverton.ann)
    reply = _reply_by_link(case, "Hello?")
    assert reply.payload.status == PayloadStatus.FAILED
    assert reply.payload.error.startswith(f"Case {case.reference} is closed")
    assert case.events.filter(kind=MessageReceived.kind).count() == 1


def test_an_unknown_status_token_fails_the_payload(riverton: Any) -> None:
    reply = accept_inbound(
        channel="portal",
        raw=portal_payload(status_token_digest="0" * 64, service_code="", description="x"),
        process_now=True,
    )
    assert reply.payload.status == PayloadStatus.FAILED
    assert reply.payload.error.startswith("The status link is not valid.")


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        ({"bin_type": "general"}, "Required answer(s) missing: address"),
        ({"bin_type": "purple", "address": "x"}, "bin_type: 'purple' is not an allowed choice"),
        (
            {"bin_type": "general", "address": "x", "colour": "red"},
            "Unknown question(s) for missed-bin: colour",
        ),
    ],
)
def test_answers_are_checked_against_the_service_questions(
    riverton: Any, answers: dict[str, str], error: str
) -> None:
    acceptance = accept_inbound(
        channel="portal", raw=portal_payload(answers=answers), process_now=True
    )
    assert acceptance.payload.status == PayloadStatus.FAILED
    assert acceptance.payload.error.splitlines()[0] == error
    assert Case.objects.count() == 0
    assert Citizen.objects.count() == 0


def test_attachments_are_stored_with_the_message(riverton: Any) -> None:
    photo = b"\x89PNG fake image bytes"
    case = _portal(
        attachments=[
            {
                "filename": "bin photo.png",
                "content_type": "image/png",
                "content_b64": base64.b64encode(photo).decode(),
            }
        ]
    )
    attachment = CaseEvent.objects.get(case=case, kind=MessageReceived.kind).attachments.get()
    assert attachment.filename == "bin_photo.png"
    assert attachment.size == len(photo)
    with attachment.file.open("rb") as handle:
        assert handle.read() == photo


def test_an_oversized_attachment_fails_the_payload(riverton: Any, settings: Any) -> None:
    settings.CIVICDESK_MAX_ATTACHMENT_BYTES = 10
    acceptance = accept_inbound(
        channel="portal",
        raw=portal_payload(
            attachments=[
                {
                    "filename": "big.pdf",
                    "content_type": "application/pdf",
                    "content_b64": base64.b64encode(b"x" * 11).decode(),
                }
            ]
        ),
        process_now=True,
    )
    assert acceptance.payload.status == PayloadStatus.FAILED
    assert "big.pdf is larger than" in acceptance.payload.error
    assert Case.objects.count() == 0


def test_payload_bodies_are_valid_json_for_every_channel(riverton: Any) -> None:
    raw = RawPayload(body=json.dumps({"from": "jo@mail.example"}).encode())
    acceptance = accept_inbound(channel="console", raw=raw)
    assert acceptance.payload.error == "Invalid payload: 'text' is required"


def test_a_stranger_naming_someone_elses_case_reference_gets_a_case_of_their_own(
    riverton: Any,
) -> None:
    victim = _portal(email="victim@mail.example")
    stranger = _console(
        **{"from": "+447911123456", "text": "Change my address", "case_reference": victim.reference}
    )
    assert stranger != victim
    assert stranger.citizen != victim.citizen
    assert victim.events.filter(kind=MessageReceived.kind).count() == 1
    assert not ContactPoint.objects.filter(citizen=victim.citizen, kind="phone").exists()


def test_the_citizen_naming_their_own_case_reference_joins_it(riverton: Any) -> None:
    case = _portal(email="jo@mail.example")
    again = _console(
        **{"from": "jo@mail.example", "text": "Any news?", "case_reference": case.reference}
    )
    assert again == case
    assert case.events.filter(kind=MessageReceived.kind).count() == 2


def test_an_unknown_reference_from_a_stranger_reveals_nothing(riverton: Any) -> None:
    case = _console(text="About RIV-2026-999999", case_reference="RIV-2026-999999")
    assert case.reference != "RIV-2026-999999"
    assert Case.objects.count() == 1


def test_a_refused_attachment_leaves_no_file_behind(riverton: Any, settings: Any) -> None:
    settings.CIVICDESK_MAX_ATTACHMENT_BYTES = 10
    files = [
        {
            "filename": name,
            "content_type": "application/pdf",
            "content_b64": base64.b64encode(b"x" * size).decode(),
        }
        for name, size in (("small.pdf", 5), ("big.pdf", 11))
    ]
    acceptance = accept_inbound(
        channel="portal", raw=portal_payload(attachments=files), process_now=True
    )
    assert acceptance.payload.status == PayloadStatus.FAILED
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_a_typed_address_on_the_portal_does_not_clear_a_bounce_but_an_email_from_it_does(
    riverton: Any,
) -> None:
    case = _portal(email="jo@mail.example")
    mark_contact_point_undeliverable(
        kind="email",
        value="jo@mail.example",
        reason="bounced",
        at=datetime(2026, 12, 4, tzinfo=UTC),
    )
    _portal(email="jo@mail.example")  # typed into a form: proves nothing
    point = ContactPoint.objects.get(kind="email", value="jo@mail.example")
    assert point.undeliverable_reason == "bounced"
    email = (
        f"From: jo@mail.example\r\nTo: help@riverton.example\r\nSubject: [{case.reference}]\r\n"
        "Message-ID: <m1@mail.example>\r\n\r\nIt works again.\r\n"
    ).encode()
    accepted = accept_inbound(
        channel="email", raw=RawPayload(body=email, content_type="message/rfc822"), process_now=True
    )
    assert accepted.payload.result_reference == case.reference
    point.refresh_from_db()
    assert (point.undeliverable_at, point.undeliverable_reason) == (None, "")
