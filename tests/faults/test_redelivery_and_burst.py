"""A provider redelivering one message many times at once, and a burst far above capacity,
against a live server with its worker and scheduler."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from civicdesk.accounts.services import create_api_token
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.channels.accounts import configure_account
from civicdesk.channels.models import ChannelAccount, InboundPayload, PayloadStatus
from civicdesk.channels.tests.sms_acme.adapter import sign
from tests.faults.harness import payload_statuses, platform, wait_for_the_queue_to_drain

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

SECRET = "whsec-faults"
REDELIVERIES = 20
BURST = 300


def _at_once(count: int, send: Any) -> list[Any]:
    """Run `send(n)` for n in range(count) from `count` threads released together."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(n: int) -> None:
        start.wait()
        try:
            results[n] = send(n)
        except httpx.HTTPError as exc:
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_one_message_redelivered_20_times_at_once_is_one_payload_one_case_one_event(
    riverton: Any, tmp_path: Path
) -> None:
    account = ChannelAccount.objects.create(kind="sms_acme", name="Main number")
    configure_account(
        account=account,
        values={"from_number": "+447700900001", "webhook_secret": SECRET, "verify_token": "v"},
    )
    body = json.dumps(
        {
            "message": {
                "id": "AM-IN-REDELIVERED",
                "text": "The street light outside number 4 is out.",
                "from": "+447911123456",
                "to": "+447700900001",
            },
            "statuses": [],
        }
    ).encode()
    now = int(time.time())
    with platform(tmp_path) as running:
        url = f"{running.url}/hooks/sms_acme/{account.uuid}/"

        def redeliver(n: int) -> int:
            # Each redelivery is signed anew, as providers do (a byte-identical request is a
            # replay, refused by the replay guard).
            timestamp = now - n
            headers = {
                "Content-Type": "application/json",
                "X-Acme-Timestamp": str(timestamp),
                "X-Acme-Signature": sign(body, secret=SECRET, timestamp=timestamp),
            }
            return httpx.post(url, content=body, headers=headers, timeout=60).status_code

        answers = _at_once(REDELIVERIES, redeliver)
        drained = wait_for_the_queue_to_drain(timeout=30)
        logs = running.logs()
    assert answers == [200] * REDELIVERIES, logs
    assert drained, payload_statuses()
    payload = InboundPayload.objects.get()
    assert payload.status == PayloadStatus.PROCESSED, payload.error
    case = Case.objects.get()
    assert payload.result_reference == case.reference
    received = CaseEvent.objects.filter(case=case, kind="case.message.received")
    assert [e.body for e in received] == ["The street light outside number 4 is out."]


def test_a_burst_far_above_capacity_is_acknowledged_or_refused_and_nothing_is_lost(
    riverton: Any, tmp_path: Path
) -> None:
    key = create_api_token(email=riverton.supervisor.email, name="burst").key
    with platform(tmp_path) as running:
        api = f"{running.url}/api/v1/contacts"

        def post(n: int) -> httpx.Response:
            contact = {
                "external_id": f"burst-{n:04d}",
                "citizen": {"name": "Jo Citizen", "email": f"burst{n}@mail.example"},
                "subject": f"Burst {n:04d}",
                "body": "My bin was not emptied.",
                "service_code": "missed-bin",
                "answers": {"bin_type": "general", "address": "1 River Street"},
            }
            headers = {"Authorization": f"Bearer {key}"}
            return httpx.post(api, json=contact, headers=headers, timeout=60)

        answers = _at_once(BURST, post)
        drained = wait_for_the_queue_to_drain(timeout=60)
    failures = Counter(type(a).__name__ for a in answers if not isinstance(a, httpx.Response))
    assert failures == Counter()  # no time-out, no dropped connection
    responses = [a for a in answers if isinstance(a, httpx.Response)]
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 201, 202, 429, 503}, statuses
    for refused in (r for r in responses if r.status_code in (429, 503)):
        assert refused.headers.get("Retry-After", "").isdigit()
    acknowledged = {
        r.json()["reference"]: r.json()
        for r in responses
        if r.status_code in (200, 201, 202) and r.json().get("reference")
    }
    assert acknowledged
    assert drained, payload_statuses()
    assert not InboundPayload.objects.filter(status=PayloadStatus.FAILED).exists()
    cases = set(Case.objects.values_list("reference", flat=True))
    assert set(acknowledged) <= cases  # none lost: every acknowledgement became its case
