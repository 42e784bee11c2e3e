"""Service levels in the workspace: inbox flags without extra queries, the case's SLA panel and
its escalation entries."""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from civicdesk.cases.models import Case
from civicdesk.cases.services import change_case_status, escalate_due_cases
from civicdesk.sla.models import EscalationRule
from civicdesk.workspace.tests.conftest import OpenCase


def _flag(html: str, reference: str) -> str:
    row = re.search(rf'<tr id="row-{reference}".*?</tr>', html, re.S)
    assert row is not None
    found = re.search(r'<span class="sla-flag sla-flag--(\w+)">(\w+)</span>', row.group(0))
    return found.group(2) if found else ""


def test_inbox_rows_show_paused_warning_and_breached_without_extra_queries(
    riverton: Any, open_case: OpenCase, ann_client: Client
) -> None:
    for _ in range(6):
        open_case()
    with CaptureQueriesContext(connection) as plain:
        ann_client.get("/workspace/?view=all")
    quiet, paused, warned, breached = list(Case.objects.order_by("id"))[:4]
    change_case_status(case=paused, status="waiting", by=riverton.ann)
    Case.objects.filter(pk=warned.pk).update(sla_escalated=["first_response:warning"])
    Case.objects.filter(pk=breached.pk).update(
        sla_escalated=["first_response:warning", "first_response:breach"]
    )

    with CaptureQueriesContext(connection) as flagged:
        html = ann_client.get("/workspace/?view=all").content.decode()

    assert len(flagged) == len(plain) == 7
    assert [_flag(html, c.reference) for c in (quiet, paused, warned, breached)] == [
        "",
        "Paused",
        "Warning",
        "Breached",
    ]


def test_a_waiting_case_page_says_paused_since_with_business_time_left(
    riverton: Any, open_case: OpenCase, ann_client: Client
) -> None:
    case = open_case()
    change_case_status(case=case, status="waiting", by=riverton.ann)
    case.refresh_from_db()
    assert case.sla_paused_at is not None

    html = ann_client.get(f"/workspace/cases/{case.reference}/").content.decode()

    panel = re.search(r'<dd id="summary-sla">(.*?)</dd>', html, re.S)
    assert panel is not None
    assert "Paused since <time" in panel.group(1)
    assert re.search(
        r"<li>First response: (\d+ h )?\d+ min left \(business time, when the citizen answers\)",
        panel.group(1),
    )
    assert "Service-level clock paused: waiting on the citizen" in html


def test_the_case_page_shows_the_escalations_the_job_recorded(
    riverton: Any, open_case: OpenCase, ann_client: Client
) -> None:
    EscalationRule.objects.create(policy=riverton.policy, level="breach", raise_priority="urgent")
    case = open_case()
    assert case.first_response_due_at is not None
    assert escalate_due_cases(now=case.first_response_due_at) == 1

    html = ann_client.get(f"/workspace/cases/{case.reference}/").content.decode()

    assert "First response target missed" in html
    assert "priority raised" in html
    assert '<span class="priority priority--urgent" id="summary-priority">Urgent</span>' in html
    assert '<span class="sla-flag sla-flag--breached">Breached</span>' in html
