"""Presenting a timeline whose stored rows do not all fit their event classes any more."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from civicdesk.cases.models import CaseEvent
from civicdesk.cases.presenters import Audience, present_timeline
from civicdesk.cases.selectors import timeline
from civicdesk.cases.services import change_case_status
from civicdesk.cases.tests.test_services import _case


def test_an_entry_that_no_longer_fits_its_class_degrades_alone(
    riverton: Any, caplog: pytest.LogCaptureFixture
) -> None:
    case = _case()
    change_case_status(case=case, status="waiting", by=riverton.ann)
    row = CaseEvent.objects.get(case=case, kind="case.status.changed")
    # e.g. a field removed from the event class later, or a hand-edited row
    CaseEvent.objects.filter(pk=row.pk).update(data={**row.data, "old_field": 1})
    entries = list(timeline(case=case, public_only=False))

    with caplog.at_level(logging.WARNING, logger="civicdesk.cases.presenters"):
        staff = present_timeline(entries, audience=Audience.STAFF)
        citizen = present_timeline(entries, audience=Audience.CITIZEN)

    assert [(v.kind, v.css_class, v.title) for v in staff] == [
        ("case.opened", "opened", "Case opened by Web portal for Missed bin collection"),
        ("case.assigned", "assignment", "Assigned to Ann Abbott in Waste automatically"),
        ("case.message.received", "message", f"Message from {case.citizen} by Web portal"),
        ("case.status.changed", "unknown", "case.status.changed"),
        ("case.sla.paused", "sla", "Service-level clock paused: waiting on the citizen"),
    ]
    assert [v.css_class for v in citizen] == ["opened", "message"]
    assert [r.getMessage() for r in caplog.records] == [
        f"Timeline entry {row.pk} does not fit case.status.changed",
        f"Timeline entry {row.pk} does not fit case.status.changed",
    ]
