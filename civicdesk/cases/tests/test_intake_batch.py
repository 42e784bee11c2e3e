"""A worker's batch written together makes exactly what the one-by-one pipeline makes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from django.db import transaction

from civicdesk.cases.models import Case, CaseEvent
from civicdesk.channels import registry
from civicdesk.channels.contracts import RawPayload
from civicdesk.channels.models import InboundPayload
from civicdesk.channels.services import accept_inbound, process_waiting
from civicdesk.citizens.models import Citizen, ContactPoint
from civicdesk.realtime.models import RealtimeEvent
from tests.factories import portal_payload

CONTACTS: list[dict[str, Any]] = [
    {"citizen": {"name": "Jo", "email": "jo@mail.example"}, "body": "My bin was missed"},
    {"citizen": {"email": "al@mail.example"}, "subject": "Noise", "body": "Loud music"},
    {"citizen": {"name": "Al", "email": "al@mail.example"}, "body": "Still loud"},
    {
        "citizen": {"email": "kim@mail.example"},
        "body": "Pothole",
        "service_code": "pothole",
        "answers": {"location": "Mill Lane"},
    },
    {"citizen": {"email": "x@mail.example"}, "body": "Hi", "service_code": "no-such"},
    {"citizen": {"email": "not an address"}, "body": "Hello"},
    {"citizen": {"name": "Bo", "phone": "+44 7911 123456"}, "body": "Where is my permit?"},
    {"citizen": {"email": "jo@mail.example"}, "body": "A rubbish collection question"},
]


class Undo(Exception):
    pass


def _seconds(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else round((later - earlier).total_seconds())


def what_was_made(payload_ids: list[int]) -> list[Any]:
    """Everything the payloads led to, without ids, references and clock readings."""
    made: list[Any] = []
    references: dict[str, int] = {}
    for payload in InboundPayload.objects.filter(pk__in=payload_ids).order_by("id"):
        row: list[Any] = [payload.status, payload.error.split("\n", 1)[0]]
        case = Case.objects.filter(reference=payload.result_reference).first()
        if case is not None:
            at = case.last_activity_at
            citizen = case.citizen
            row += [
                references.setdefault(case.reference, len(references)),
                case.subject,
                case.service.code if case.service else None,
                (case.priority, case.status, case.classified_by, case.language),
                (case.queue.name if case.queue else None, str(case.assignee or "")),
                (case.channel, case.channel_identity, case.sla_policy_name),
                [_seconds(t, at) for t in (case.first_response_due_at, case.resolution_due_at)],
                [_seconds(case.sla_due_at, at), _seconds(case.sla_check_at, at)],
                (citizen.full_name, citizen.preferred_language, citizen.preferred_channel),
                sorted(ContactPoint.objects.filter(citizen=citizen).values_list("kind", "value")),
                [
                    (
                        e.kind,
                        e.is_public,
                        e.channel,
                        e.author_label,
                        e.body,
                        e.payload_id is not None,
                    )
                    + tuple(sorted((k, str(v)) for k, v in e.data.items() if k != "reference"))
                    for e in CaseEvent.objects.filter(case=case).order_by("id")
                ],
            ]
        made.append(row)
    made.append(Citizen.objects.count())
    made.append(sorted(RealtimeEvent.objects.values_list("kind", flat=True)))
    return made


def store_and_process() -> list[Any]:
    ids = [
        accept_inbound(
            channel="api", raw=RawPayload(body=json.dumps(c).encode()), reserve_reference=True
        ).payload.pk
        for c in CONTACTS
    ]
    ids.append(
        accept_inbound(channel="portal", raw=portal_payload(), reserve_reference=True).payload.pk
    )
    while process_waiting(limit=50):
        pass
    return what_was_made(ids)


@pytest.mark.django_db
def test_the_batch_writes_what_one_by_one_writes(
    riverton: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.TASK_BACKEND = "database"
    settings.REALTIME_BACKEND = "database"
    try:
        with transaction.atomic():
            monkeypatch.setattr(registry, "_batch_handler", None)
            one_by_one = store_and_process()
            raise Undo
    except Undo:
        pass
    monkeypatch.undo()
    assert registry.batch_handler() is not None
    together = store_and_process()

    for n, (a, b) in enumerate(zip(together, one_by_one, strict=True)):
        assert a == b, n
    statuses = [row[0] for row in together[:-2]]
    assert statuses.count("failed") == 2  # the unknown service and the unusable address
    assert Case.objects.count() == len(CONTACTS) - 2 + 1
