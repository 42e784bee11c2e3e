"""A supervisor's workspace alerts them live when a case of their team escalates."""

from __future__ import annotations

from typing import Any

import pytest

from civicdesk.cases.services import escalate_due_cases
from civicdesk.sla.models import EscalationRule
from civicdesk.workspace.tests.conftest import accept
from tests.browser import assert_accessible, sign_in_to_workspace
from tests.factories import PASSWORD, build_riverton, portal_payload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_supervisor_is_alerted_live_of_an_escalation(live_asgi: str, browser: Any) -> None:
    riverton = build_riverton()
    EscalationRule.objects.create(policy=riverton.policy, level="warning", notify_supervisor=True)
    context = browser.new_context(base_url=live_asgi)
    page = context.new_page()
    page.goto("/workspace/")
    sign_in_to_workspace(page, riverton.supervisor.email, PASSWORD)
    case = accept("portal", portal_payload())
    assert case.queue == riverton.waste_queue
    assert case.sla_check_at is not None

    assert escalate_due_cases(now=case.sla_check_at) == 1

    alert = page.locator("#sla-alerts .sla-alert")
    alert.wait_for(timeout=3000)
    assert alert.get_attribute("role") == "alert"
    assert alert.locator("a").text_content() == (
        f"First response target due soon on {case.reference}"
    )
    assert alert.locator("a").get_attribute("href") == f"/workspace/cases/{case.reference}/"
    assert_accessible(page)
    alert.locator("button").click()
    assert page.locator("#sla-alerts .sla-alert").count() == 0
    context.close()
