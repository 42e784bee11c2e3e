import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from civicdesk.cases.models import Case
from civicdesk.channels.contracts import RawPayload
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.channels.services import accept_inbound, process_payload, replay_payload
from civicdesk.core.errors import DomainError
from tests.factories import console_payload, portal_payload

pytestmark = pytest.mark.django_db


def test_the_raw_payload_is_stored_exactly_as_received(riverton: Any) -> None:
    raw = portal_payload(description="Bin missed — again ✓")
    acceptance = accept_inbound(channel="portal", raw=raw, process_now=True)
    stored = InboundPayload.objects.get()
    assert bytes(stored.body) == raw.body
    assert stored.status == PayloadStatus.PROCESSED
    assert stored.attempts == 1
    assert acceptance.payload.result_reference == Case.objects.get().reference


def test_a_duplicate_provider_message_id_creates_nothing_new(riverton: Any) -> None:
    raw = portal_payload(submission_id="same-form-twice")
    first = accept_inbound(channel="portal", raw=raw, process_now=True)
    second = accept_inbound(channel="portal", raw=raw, process_now=True)
    assert second.is_duplicate
    assert second.payload.pk == first.payload.pk
    assert InboundPayload.objects.count() == 1
    assert Case.objects.count() == 1


def test_the_same_id_on_another_channel_is_a_different_message(riverton: Any) -> None:
    accept_inbound(channel="console", raw=console_payload(id="m-1"), process_now=True)
    accept_inbound(
        channel="api",
        raw=RawPayload(
            body=json.dumps(
                {"external_id": "m-1", "body": "hello", "citizen": {"email": "x@mail.example"}}
            ).encode()
        ),
        process_now=True,
    )
    assert InboundPayload.objects.count() == 2


def test_an_unparseable_payload_is_stored_as_failed_with_its_reason(riverton: Any) -> None:
    acceptance = accept_inbound(channel="portal", raw=RawPayload(body=b"{not json"))
    stored = InboundPayload.objects.get()
    assert acceptance.payload.pk == stored.pk
    assert stored.status == PayloadStatus.FAILED
    assert stored.error.startswith("Invalid payload: body is not valid JSON")
    assert bytes(stored.body) == b"{not json"
    assert Case.objects.count() == 0


def test_a_processing_failure_leaves_the_payload_stored_and_replayable(riverton: Any) -> None:
    riverton.pothole.is_active = False
    riverton.pothole.save()
    raw = portal_payload(service_code="pothole", answers={"location": "Mill Lane"})
    acceptance = accept_inbound(channel="portal", raw=raw, process_now=True)
    payload = acceptance.payload
    assert payload.status == PayloadStatus.FAILED
    assert payload.error.startswith("Unknown service 'pothole'.")
    assert Case.objects.count() == 0  # nothing half-made: the pipeline rolled back

    riverton.pothole.is_active = True
    riverton.pothole.save()
    replayed = replay_payload(payload_id=payload.pk)
    assert replayed.status == PayloadStatus.PROCESSED
    assert replayed.attempts == 2
    assert replayed.error == ""
    case = Case.objects.get()
    assert case.service == riverton.pothole
    assert replayed.result_reference == case.reference


def test_processing_twice_does_nothing_twice(riverton: Any) -> None:
    acceptance = accept_inbound(channel="portal", raw=portal_payload(), process_now=True)
    process_payload(payload_id=acceptance.payload.pk)
    assert Case.objects.count() == 1
    assert InboundPayload.objects.get().attempts == 1


def test_replaying_a_processed_payload_is_refused(riverton: Any) -> None:
    acceptance = accept_inbound(channel="portal", raw=portal_payload(), process_now=True)
    with pytest.raises(DomainError, match="processed already"):
        replay_payload(payload_id=acceptance.payload.pk)


def test_without_process_now_the_task_processes_the_payload(
    riverton: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        acceptance = accept_inbound(
            channel="console", raw=console_payload(text="pothole on Mill Lane")
        )
    acceptance.payload.refresh_from_db()
    assert acceptance.payload.status == PayloadStatus.PROCESSED
    assert Case.objects.get().service == riverton.pothole


def test_a_payload_left_processing_by_a_dead_worker_can_be_replayed(riverton: Any) -> None:
    acceptance = accept_inbound(channel="portal", raw=portal_payload())
    payload = acceptance.payload
    # A worker claimed it; its lease still runs: someone is on it.
    InboundPayload.objects.filter(pk=payload.pk).update(
        status=PayloadStatus.PROCESSING,
        claimed_by="worker-1",
        lease_expires_at=timezone.now() + timedelta(seconds=20),
    )
    with pytest.raises(DomainError, match="being processed right now"):
        replay_payload(payload_id=payload.pk)
    assert Case.objects.count() == 0

    # The worker died: its lease ran out without renewal.
    InboundPayload.objects.filter(pk=payload.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert replay_payload(payload_id=payload.pk).status == PayloadStatus.PROCESSED
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("Ghenă neridicată — ș ț".encode(), PayloadStatus.FAILED),  # UTF-8, but not JSON
        (b"\xff\xfe not utf-8 at all \x80", PayloadStatus.FAILED),
        # JSON may come in UTF-16: it is read, and the stored bytes stay UTF-16.
        (
            json.dumps({"from": "jo@mail.example", "text": "UTF-16"}).encode("utf-16"),
            PayloadStatus.PROCESSED,
        ),
    ],
)
def test_any_bytes_are_stored_exactly_whether_or_not_they_can_be_read(
    riverton: Any, body: bytes, status: str
) -> None:
    acceptance = accept_inbound(channel="console", raw=RawPayload(body=body), process_now=True)
    stored = InboundPayload.objects.get()
    assert bytes(stored.body) == body
    assert acceptance.payload.pk == stored.pk
    assert stored.status == status
    if status == PayloadStatus.FAILED:
        assert stored.error.startswith("Invalid payload:")


def test_an_adapter_crash_still_keeps_the_payload(riverton: Any) -> None:
    raw = portal_payload(attachments=["not an object"])
    acceptance = accept_inbound(channel="portal", raw=raw, process_now=True)
    assert bytes(acceptance.payload.body) == raw.body
    assert acceptance.payload.error == "Invalid payload: each attachment must be an object"
