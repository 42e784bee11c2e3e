"""A worker's batch written together makes exactly what the one-by-one pipeline makes."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db import transaction

from civicdesk.cases.events import MessageReceived
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.channels import registry
from civicdesk.channels.contracts import RawPayload
from civicdesk.channels.models import InboundPayload
from civicdesk.channels.services import accept_inbound, process_waiting
from civicdesk.citizens.models import Citizen, ContactPoint
from civicdesk.realtime.models import RealtimeEvent
from civicdesk.sla.services import compute_targets
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


def _clocks_as_computed(case: Case) -> bool:
    """The case's due times are the policy's for its opening instant (which differs between
    runs, and with business hours so do the due times' distances from it)."""
    assert case.last_activity_at is not None
    targets = compute_targets(
        policy_id=case.sla_policy_id, priority=case.priority, start=case.last_activity_at
    )
    assert targets is not None
    return (
        case.first_response_due_at == targets.first_response_due_at
        and case.resolution_due_at == targets.resolution_due_at
        and case.sla_due_at == targets.first_response_due_at
        and case.sla_check_at is not None
        and case.sla_check_at <= targets.first_response_due_at
    )


def what_was_made(payload_ids: list[int]) -> list[Any]:
    """Everything the payloads led to, without ids, references and clock readings."""
    made: list[Any] = []
    references: dict[str, int] = {}
    for payload in InboundPayload.objects.filter(pk__in=payload_ids).order_by("id"):
        row: list[Any] = [payload.status, payload.error.split("\n", 1)[0]]
        case = Case.objects.filter(reference=payload.result_reference).first()
        if case is not None:
            citizen = case.citizen
            row += [
                references.setdefault(case.reference, len(references)),
                case.subject,
                case.service.code if case.service else None,
                (case.priority, case.status, case.classified_by, case.language),
                (case.queue.name if case.queue else None, str(case.assignee or "")),
                (case.channel, case.channel_identity, case.sla_policy_name),
                _clocks_as_computed(case),
                (citizen.full_name, citizen.preferred_language, citizen.preferred_channel),
                sorted(ContactPoint.objects.filter(citizen=citizen).values_list("kind", "value")),
                [
                    (
                        e.kind,
                        e.is_public,
                        e.channel,
                        re.sub(r"#\d+", "#n", e.author_label),  # ids are not rolled back on PG
                        e.body,
                        e.payload_id is not None,
                        *tuple(sorted((k, str(v)) for k, v in e.data.items() if k != "reference")),
                    )
                    for e in CaseEvent.objects.filter(case=case).order_by("id")
                ],
            ]
        made.append(row)
    made.append(Citizen.objects.count())
    made.append(sorted(RealtimeEvent.objects.values_list("kind", flat=True)))
    return made


def store_and_process(*, reserve: bool = True) -> list[Any]:
    ids = [
        accept_inbound(
            channel="api", raw=RawPayload(body=json.dumps(c).encode()), reserve_reference=reserve
        ).payload.pk
        for c in CONTACTS
    ]
    ids.append(
        accept_inbound(channel="portal", raw=portal_payload(), reserve_reference=reserve).payload.pk
    )
    while process_waiting(limit=50):
        pass
    return what_was_made(ids)


@pytest.mark.django_db
@pytest.mark.parametrize("reserve", [True, False], ids=["reserved", "unreferenced"])
def test_the_batch_writes_what_one_by_one_writes(
    riverton: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, reserve: bool
) -> None:
    settings.TASK_BACKEND = "database"
    settings.REALTIME_BACKEND = "database"
    try:
        with transaction.atomic():
            monkeypatch.setattr(registry, "_batch_handler", None)
            one_by_one = store_and_process(reserve=reserve)
            raise Undo
    except Undo:
        pass
    monkeypatch.undo()
    assert registry.batch_handler() is not None
    together = store_and_process(reserve=reserve)

    for n, (a, b) in enumerate(zip(together, one_by_one, strict=True)):
        assert a == b, n
    statuses = [row[0] for row in together[:-2]]
    assert statuses.count("failed") == 2  # the unknown service and the unusable address
    assert Case.objects.count() == len(CONTACTS) - 2 + 1


@pytest.mark.django_db
def test_contacts_acknowledged_without_a_reference_are_written_together_and_numbered_in_order(
    riverton: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A webhook's contact on a channel that does not thread by sender opens its own case, so
    the batch writes it too, taking its reference in arrival order; only the invalid ones go
    one by one (to be recorded failed)."""
    settings.TASK_BACKEND = "database"
    one_by_one: list[int] = []
    real = registry.call_inbound_handler

    def spied(message: Any, **kwargs: Any) -> Any:
        one_by_one.append(kwargs["payload_id"])
        return real(message, **kwargs)

    monkeypatch.setattr(registry, "call_inbound_handler", spied)
    ids = [
        accept_inbound(channel="api", raw=RawPayload(body=json.dumps(c).encode())).payload.pk
        for c in CONTACTS
    ]
    while process_waiting(limit=50):
        pass
    payloads = list(InboundPayload.objects.filter(pk__in=ids).order_by("id"))
    failed = [p.pk for p in payloads if p.status == "failed"]
    assert sorted(one_by_one) == failed
    assert len(failed) == 2
    references = [p.result_reference for p in payloads if p.status == "processed"]
    assert all(not p.reference for p in payloads)
    assert references == sorted(references)
    assert len(set(references)) == len(references)
    assert sorted(Case.objects.values_list("reference", flat=True)) == references


@pytest.mark.django_db
def test_a_new_email_copied_to_others_keeps_its_participants_in_a_batch(
    riverton: Any, settings: Any
) -> None:
    """The people a citizen copied receive the replies whichever path opened the case."""
    from civicdesk.cases.models import CaseParticipant
    from civicdesk.channels.services import ensure_account

    settings.TASK_BACKEND = "database"
    account = ensure_account(kind="email", name="Help desk", values={"address": "help@x.example"})
    raw = (
        b"From: Ann Lee <ann@mail.example>\r\nTo: help@x.example\r\n"
        b"Cc: Bo <bo@mail.example>\r\nSubject: Lamp out\r\n"
        b"Message-ID: <lamp-cc@mail.example>\r\n\r\nThe lamp on Elm Avenue is out.\r\n"
    )
    accept_inbound(
        channel="email",
        raw=RawPayload(body=raw, content_type="message/rfc822"),
        account=account,
        verified=True,
    )
    while process_waiting(limit=50):
        pass
    case = Case.objects.get()
    assert list(CaseParticipant.objects.filter(case=case).values_list("value", flat=True)) == [
        "bo@mail.example"
    ]


def _email(message_id: str, body: str, **headers: str) -> RawPayload:
    lines = [
        "From: Ann Lee <ann.lee@example.org>",
        "To: help@riverton.example",
        "Subject: Lamp out on Elm Avenue",
        f"Message-ID: <{message_id}>",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    raw = ("\r\n".join(lines) + f"\r\n\r\n{body}\r\n").encode()
    envelope = {"x-civicdesk-envelope-to": "help@riverton.example"}
    return RawPayload(body=raw, content_type="message/rfc822", headers=envelope)


@pytest.mark.django_db
def test_an_email_reply_processed_in_a_batch_joins_the_case_it_answers(
    riverton: Any, settings: Any
) -> None:
    """A reply names its case by In-Reply-To/References, not by a reference: the batch must
    leave it to the one-by-one handler, which threads it, and not open a case for it."""
    from civicdesk.channels.services import ensure_account

    settings.TASK_BACKEND = "database"
    account = ensure_account(
        kind="email", name="Help desk", values={"address": "help@riverton.example"}
    )
    accept_inbound(channel="email", raw=_email("lamp-1@example.org", "The lamp is out."),
                   account=account)  # fmt: skip
    while process_waiting(limit=50):
        pass
    accept_inbound(channel="email", raw=_email("lamp-2@example.org", "Still out.",
                   In_Reply_To="<lamp-1@example.org>", References="<lamp-1@example.org>"),
                   account=account)  # fmt: skip
    while process_waiting(limit=50):
        pass
    case = Case.objects.get()
    bodies = CaseEvent.objects.filter(case=case, kind=MessageReceived.kind).order_by("id")
    assert list(bodies.values_list("body", flat=True)) == ["The lamp is out.", "Still out."]
