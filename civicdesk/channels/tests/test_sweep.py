import io
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from civicdesk.cases.models import Case
from civicdesk.channels.contracts import OutgoingMessage
from civicdesk.channels.models import (
    DeliveryStatus,
    InboundPayload,
    OutboundDelivery,
    PayloadStatus,
)
from civicdesk.channels.services import accept_inbound, queue_delivery
from tests.factories import console_payload, portal_payload


@pytest.mark.django_db
def test_the_sweep_sets_going_what_was_never_enqueued(riverton: Any) -> None:
    # Stored, but the queue was down when the transaction committed: nothing enqueued them.
    payload = accept_inbound(channel="console", raw=console_payload(text="pothole")).payload
    delivery = queue_delivery(
        message=OutgoingMessage(channel="console", recipient="jo@mail.example", body="Hello")
    )
    fresh = accept_inbound(channel="console", raw=console_payload(**{"from": "a@mail.example"}))
    old = timezone.now() - timedelta(minutes=3)
    InboundPayload.objects.filter(pk=payload.pk).update(created_at=old)
    OutboundDelivery.objects.filter(pk=delivery.pk).update(created_at=old)

    out = io.StringIO()
    call_command("sweep", stdout=out)

    assert out.getvalue().strip() == (
        "payloads enqueued: 1; deliveries enqueued: 1; deliveries tried: 0"
    )
    payload.refresh_from_db()
    delivery.refresh_from_db()
    fresh.payload.refresh_from_db()
    assert payload.status == PayloadStatus.PROCESSED
    assert delivery.status == DeliveryStatus.SENT
    assert fresh.payload.status == PayloadStatus.RECEIVED  # young: its task may still be queued
    assert Case.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_sent_while_the_first_is_processing_gets_its_outcome(riverton: Any) -> None:
    raw = portal_payload()
    first = accept_inbound(channel="portal", raw=raw).payload  # stored; not yet processed
    InboundPayload.objects.filter(pk=first.pk).update(status=PayloadStatus.PROCESSING)

    def the_first_finishes() -> None:
        try:
            InboundPayload.objects.filter(pk=first.pk).update(
                status=PayloadStatus.PROCESSED, result_reference="RIV-2026-000042"
            )
        finally:
            connection.close()  # this thread's own connection

    timer = threading.Timer(0.3, the_first_finishes)
    timer.start()
    try:
        second = accept_inbound(channel="portal", raw=raw, process_now=True)
    finally:
        timer.join()
    assert second.is_duplicate
    assert second.payload.status == PayloadStatus.PROCESSED
    assert second.payload.result_reference == "RIV-2026-000042"
