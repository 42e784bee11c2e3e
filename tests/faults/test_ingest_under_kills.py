"""kill -9 of the web server and of the worker, several times, during sustained API ingest:
every acknowledged contact becomes exactly one case, with no one's help.

Acknowledged = a 2xx answer carrying a `reference` (201 today, when the API processes before
answering; 202 once it acknowledges after one durable write). A request that got no answer
(the server died under it) may or may not become a case, but never two.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from civicdesk.accounts.services import create_api_token
from civicdesk.cases.models import Case
from civicdesk.channels.models import InboundPayload, PayloadStatus
from tests.faults.harness import payload_statuses, platform, wait_for_the_queue_to_drain

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

# Counted from the last kill: "taken over within a minute", and a little for the backlog.
DRAIN_AFTER_LAST_KILL = 65.0


@dataclass
class Ingest:
    """What the client saw: acknowledged external ids with their reference, and the rest."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    unanswered: list[str] = field(default_factory=list)
    refused: Counter[int] = field(default_factory=Counter)
    sent: int = 0


def _contact(external_id: str) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "citizen": {"name": "Jo Citizen", "email": f"{external_id}@mail.example"},
        "subject": f"Fault test {external_id}",
        "body": f"My bin was not emptied ({external_id}).",
        "service_code": "missed-bin",
        "answers": {"bin_type": "general", "address": "1 River Street"},
    }


def _post_continuously(
    url: str, key: str, stop: threading.Event, ingest: Ingest, prefix: str
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=15) as client:
        while not stop.is_set():
            external_id = f"{prefix}-{ingest.sent:05d}"
            ingest.sent += 1
            try:
                response = client.post("/contacts", json=_contact(external_id))
            except httpx.HTTPError:
                ingest.unanswered.append(external_id)
                time.sleep(0.05)  # the server is down: as a client would, try a bit later
                continue
            body = response.json() if response.content else {}
            if response.status_code in (200, 201, 202) and body.get("reference"):
                ingest.acknowledged[external_id] = body["reference"]
            else:
                ingest.refused[response.status_code] += 1


def test_every_acknowledged_contact_is_one_case_after_web_and_worker_kills(
    riverton: Any, tmp_path: Path
) -> None:
    key = create_api_token(email=riverton.supervisor.email, name="faults").key
    stop = threading.Event()
    clients = [Ingest(), Ingest()]
    with platform(tmp_path) as running:
        threads = [
            threading.Thread(
                target=_post_continuously, args=(running.url, key, stop, ingest, f"c{n}")
            )
            for n, ingest in enumerate(clients)
        ]
        for thread in threads:
            thread.start()
        try:
            for step in ("web", "worker", "web", "worker", "web"):
                time.sleep(1.5)
                if step == "web":
                    running.restart_web()
                else:
                    running.restart_worker()
            last_kill = time.monotonic()
            time.sleep(1.5)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
        drained = wait_for_the_queue_to_drain(
            timeout=DRAIN_AFTER_LAST_KILL - (time.monotonic() - last_kill)
        )
        logs = running.logs()
    acknowledged = {k: v for ingest in clients for k, v in ingest.acknowledged.items()}
    unanswered = [k for ingest in clients for k in ingest.unanswered]
    refused = sum((ingest.refused for ingest in clients), Counter())

    assert (running.web.kills, running.worker.kills) == (3, 2)
    assert len(acknowledged) >= 20, (acknowledged, unanswered, refused, logs)
    assert refused == Counter(), logs  # no 4xx/5xx: a server is up or not, never broken
    cases = dict(Case.objects.values_list("reference", "subject"))
    for external_id, reference in acknowledged.items():
        assert cases.get(reference) == f"Fault test {external_id}", (external_id, reference)
    # Never two cases for one contact, acknowledged or not.
    twice = [s for s, n in Counter(cases.values()).items() if n > 1]
    assert twice == []
    assert len(set(acknowledged.values())) == len(acknowledged)
    assert not InboundPayload.objects.filter(status=PayloadStatus.FAILED).exists(), (
        payload_statuses()
    )
    assert drained, payload_statuses()  # payloads a killed process held are taken over
    # Drained: every contact that was stored became its case.
    stored = InboundPayload.objects.filter(channel="api").count()
    assert Case.objects.filter(subject__startswith="Fault test").count() == stored
