"""A contact acknowledged with a reference keeps it: the case opened later takes it."""

import json
from typing import Any

import pytest

from civicdesk.cases.models import Case
from civicdesk.cases.services import next_reference
from civicdesk.cases.services.references import next_references
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.channels.services import accept_inbound, process_payload
from civicdesk.core.tokens import digest
from tests.factories import console_payload, portal_payload

pytestmark = pytest.mark.django_db


def test_the_reference_given_on_acknowledgement_is_the_cases_and_processing_twice_opens_one(
    riverton: Any, django_capture_on_commit_callbacks: Any
) -> None:
    token_digest = digest("a private link")
    raw = portal_payload(status_token_digest=token_digest)
    with django_capture_on_commit_callbacks(execute=False):
        acceptance = accept_inbound(channel="portal", raw=raw, reserve_reference=True)
    stored = InboundPayload.objects.get(pk=acceptance.payload.pk)
    assert stored.status == PayloadStatus.RECEIVED
    assert stored.reference.startswith("RIV-")
    assert stored.token_digest == token_digest
    assert not Case.objects.exists()

    processing = process_payload(payload_id=stored.pk)
    assert processing.outcome is not None
    assert processing.outcome.case_reference == stored.reference
    case = Case.objects.get()
    assert case.reference == stored.reference
    # Run again (a worker died after committing, its claim expired): still one case.
    InboundPayload.objects.filter(pk=stored.pk).update(status=PayloadStatus.RECEIVED)
    again = process_payload(payload_id=stored.pk)
    assert again.outcome is not None
    assert again.outcome.case_reference == stored.reference
    assert Case.objects.count() == 1


def test_references_given_on_acknowledgement_count_up_and_never_repeat(riverton: Any) -> None:
    references = [
        accept_inbound(
            channel="portal", raw=portal_payload(), reserve_reference=True
        ).payload.reference
        for _ in range(3)
    ]
    numbers = [int(reference.rsplit("-", 1)[1]) for reference in references]
    assert numbers == sorted(set(numbers))
    assert numbers[1] == numbers[0] + 1


def test_a_message_naming_its_case_is_given_no_new_reference(riverton: Any) -> None:
    first = accept_inbound(
        channel="console", raw=console_payload(), process_now=True, reserve_reference=True
    )
    case_reference = first.payload.result_reference
    body = {"from": "jo@mail.example", "text": "More", "id": "2", "case_reference": case_reference}
    raw = console_payload(**body)
    second = accept_inbound(channel="console", raw=raw, reserve_reference=True)
    assert second.payload.reference == ""
    assert json.loads(bytes(second.payload.body))["case_reference"] == case_reference


def test_references_taken_together_count_up_per_year_after_those_taken_alone(riverton: Any) -> None:
    from datetime import UTC, datetime

    this_year, next_year = datetime(2026, 6, 1, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC)
    first = next_reference(at=this_year)
    taken = next_references(at=[this_year, next_year, this_year, this_year, next_year])
    last = next_reference(at=this_year)
    numbers = [int(r.rsplit("-", 1)[1]) for r in [first, *taken, last]]
    years = [r.split("-")[1] for r in taken]
    assert years == ["2026", "2027", "2026", "2026", "2027"]
    start = numbers[0]
    assert [numbers[i] for i in (1, 3, 4, 6)] == [start + 1, start + 2, start + 3, start + 4]
    assert numbers[5] == numbers[2] + 1
    assert len(set(taken)) == len(taken)
