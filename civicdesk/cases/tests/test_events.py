"""Typed case events: JSON round trip, strict validation, presenters and the history migration."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from civicdesk.cases.events import CaseAssigned, NoteAdded, StatusChanged
from civicdesk.cases.models import CaseEvent
from civicdesk.cases.presenters import Audience, present_entry
from civicdesk.cases.selectors import timeline
from civicdesk.cases.services import add_internal_note, change_case_status
from civicdesk.cases.tests.test_services import _case
from civicdesk.realtime.events import InvalidEventData, UnknownEventKind, event_from_data

text = st.text(max_size=40)
ids = st.none() | st.integers(min_value=1, max_value=2**31)


@given(
    reference=text,
    status=text,
    queue_id=ids,
    assignee_id=ids,
    to=text,
    to_id=ids,
    automatic=st.booleans(),
    waiting=st.booleans(),
)
def test_an_event_survives_its_json_round_trip(**fields: Any) -> None:
    event = CaseAssigned(priority="normal", **fields)
    assert event_from_data(CaseAssigned.kind, event.to_data()) == event


@pytest.mark.parametrize(
    "data",
    [
        {"reference": "RIV-1", "status": 3, "previous": "new"},
        {"reference": "RIV-1", "status": "open"},
        {"reference": "RIV-1", "status": "open", "previous": "new", "extra": 1},
        {"reference": "RIV-1", "status": "open", "previous": "new", "automatic": "yes"},
    ],
)
def test_data_that_does_not_fit_is_refused(data: dict[str, Any]) -> None:
    with pytest.raises(InvalidEventData):
        StatusChanged.from_data(data)


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(UnknownEventKind):
        event_from_data("case.vanished", {})


def test_presenters_keep_private_entries_from_citizens_in_both_languages(riverton: Any) -> None:
    case = _case()
    change_case_status(case=case, status="waiting", by=riverton.ann)
    add_internal_note(case=case, author=riverton.ann, body="Crew is short")
    entries = list(timeline(case=case, public_only=False))
    kinds = [e.kind for e in entries]
    assert kinds == [
        "case.opened",
        "case.assigned",
        "case.message.received",
        "case.status.changed",
        "case.sla.paused",
        "case.note.added",
    ]
    staff = [present_entry(e, audience=Audience.STAFF) for e in entries]
    assert [(v.title, v.is_public, v.internal) for v in staff if v] == [
        ("Case opened by Web portal for Missed bin collection", True, False),
        ("Assigned to Ann Abbott in Waste automatically", False, False),
        (f"Message from {case.citizen} by Web portal", True, False),
        ("Status changed from New to Waiting by Ann Abbott", True, False),
        ("Service-level clock paused: waiting on the citizen", False, False),
        ("Internal note by Ann Abbott", False, True),
    ]
    for language, titles in (
        ("en", ["Request received", "You wrote", "Status changed to: Waiting for your reply"]),
        (
            "ro",
            [
                "Solicitare primită",
                "Ați scris",
                "Starea s-a schimbat în: Așteptăm răspunsul dumneavoastră",
            ],
        ),
    ):
        with translation.override(language):
            shown = [present_entry(e, audience=Audience.CITIZEN) for e in entries]
        assert [v.title for v in shown if v] == titles
    # A private kind stays private even on a row wrongly marked public.
    note = entries[-1]
    note.is_public = True
    assert present_entry(note, audience=Audience.CITIZEN) is None


def test_old_timeline_rows_are_converted_to_typed_events(riverton: Any) -> None:
    case = _case()
    CaseEvent.objects.filter(case=case).delete()
    at = case.created_at
    old = [
        ("created", {"service": "Missed bin collection"}, "portal", True),
        (
            "assignment",
            {"to": "Ann Abbott", "to_id": riverton.ann.pk, "queue": "Waste", "automatic": True},
            "",
            False,
        ),
        ("message_in", {}, "portal", True),
        ("status", {"from": "new", "to": "open"}, "", True),
        ("note", {}, "", False),
        ("sla", {"target": "first response"}, "", True),
    ]
    for kind, data, channel, public in old:
        CaseEvent.objects.create(
            case=case, kind=kind, data=data, channel=channel, is_public=public, created_at=at
        )
    migration = importlib.import_module(
        "civicdesk.cases.migrations.0004_timeline_history_as_typed_events"
    )
    from django.apps import apps

    migration.forwards(apps, None)
    rows = list(CaseEvent.objects.filter(case=case).order_by("id"))
    events = [row.as_event() for row in rows]
    state = {
        "reference": case.reference,
        "priority": case.priority,
        "queue_id": riverton.waste_queue.pk,
        "assignee_id": riverton.ann.pk,
    }
    assert [type(e).__name__ for e in events] == [
        "CaseOpened",
        "CaseAssigned",
        "MessageReceived",
        "StatusChanged",
        "NoteAdded",
        "HistoryRecorded",
    ]
    assert events[0].to_data() == {
        **state,
        "status": "new",
        "channel": "portal",
        "service": "Missed bin collection",
    }
    assert events[3] == StatusChanged(**state, status="open", previous="new")
    assert events[4] == NoteAdded(**state, status="open")
    assert events[5].to_data() == {
        **state,
        "status": "open",
        "original_kind": "sla",
        "details": '{"target": "first response", "was_public": true}',
    }
    assert [row.is_public for row in rows] == [True, False, True, True, False, False]
    # Every converted entry can be presented; the citizen sees only the public ones.
    citizen = [present_entry(row, audience=Audience.CITIZEN) for row in rows]
    assert [v.css_class for v in citizen if v] == ["opened", "message", "status"]
    migration.backwards(apps, None)
    back = CaseEvent.objects.filter(case=case).order_by("id")
    assert list(back.values_list("kind", "data", "is_public")) == [(k, d, p) for k, d, _, p in old]


def test_the_history_migration_reads_in_a_few_queries_per_batch_not_one_per_case(
    riverton: Any, django_assert_max_num_queries: Any
) -> None:
    cases = [_case() for _ in range(12)]
    CaseEvent.objects.filter(case__in=cases).delete()
    for case in cases:
        for kind, data in (
            ("created", {"service": "Bins"}),
            ("status", {"from": "new", "to": "open"}),
        ):
            CaseEvent.objects.create(case=case, kind=kind, data=data, created_at=case.created_at)
    migration = importlib.import_module(
        "civicdesk.cases.migrations.0004_timeline_history_as_typed_events"
    )
    from django.apps import apps

    # queues, the ordered entries, the cases, one bulk update (in its savepoint)
    with django_assert_max_num_queries(6):
        migration.forwards(apps, None)
    kinds = CaseEvent.objects.filter(case__in=cases).values_list("case__reference", "kind")
    assert sorted(kinds) == sorted(
        (c.reference, k) for c in cases for k in ("case.opened", "case.status.changed")
    )
