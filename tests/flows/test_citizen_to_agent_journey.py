"""The main path in a real browser: a citizen asks, an agent sees it live and answers, and back.

Two people at once: a citizen on the portal and an agent in the workspace, each in their own
browser context, against one live server. axe-core checks every page either of them visits.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from civicdesk.cases.events import MessageReceived, NoteAdded, ReplySent
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.channels.models import DeliveryStatus
from tests.browser import assert_accessible, sign_in_to_workspace
from tests.factories import PASSWORD, build_riverton

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPLY = "We will collect your recycling on Thursday morning."
NOTE = "Crew 3 skipped River Street: blocked by parked cars."
CITIZEN_REPLY = "Thank you, I will leave it out."


def test_a_request_reaches_the_agent_live_and_the_answer_reaches_the_citizen(
    live_asgi: str, browser: Any
) -> None:
    riverton = build_riverton()

    # The agent signs in and keeps the inbox open.
    agent = browser.new_context(base_url=live_asgi).new_page()
    agent.goto("/workspace/login/")
    assert_accessible(agent)
    sign_in_to_workspace(agent, riverton.ann.email, PASSWORD)
    assert_accessible(agent)

    # The citizen asks through the portal.
    citizen = browser.new_context(base_url=live_asgi).new_page()
    citizen.goto("/")
    assert_accessible(citizen)
    citizen.get_by_role("link", name="Missed bin collection").click()
    assert_accessible(citizen)
    citizen.get_by_label("Recycling").check()
    citizen.get_by_label("Address of the collection").fill("1 River Street")
    citizen.get_by_label("Describe the problem").fill("The recycling was not collected.")
    citizen.get_by_label("Full name").fill("Jo Citizen")
    citizen.get_by_label("Email address").fill("jo@mail.example")
    citizen.get_by_role("button", name="Send request").click()
    citizen.get_by_role("heading", name="Request sent").wait_for()
    assert_accessible(citizen)
    reference = citizen.locator(".reference").inner_text()
    case = Case.objects.get(reference=reference)
    assert case.assignee == riverton.ann
    assert case.queue == riverton.waste_queue
    assert case.first_response_due_at is not None
    status_url = citizen.url

    # It appears in the agent's open inbox without a reload.
    agent.locator(f"#row-{reference}").wait_for(timeout=3000)
    assert agent.url.endswith("/workspace/")
    assert_accessible(agent)

    # The agent opens it, answers the citizen and leaves a note for colleagues.
    agent.click(f"#case-link-{reference}")
    agent.wait_for_url(re.compile(rf"/workspace/cases/{reference}/$"))
    assert "Jo Citizen" in agent.text_content("#citizen-panel")
    assert_accessible(agent)
    agent.fill("#reply-body", REPLY)
    agent.click("#reply-submit")
    reply = _wait_for_event(case, ReplySent.kind)
    agent.locator(f"#event-{reply.pk}").wait_for(timeout=3000)
    agent.fill("#note-body", NOTE)
    agent.click("#note-submit")
    note = _wait_for_event(case, NoteAdded.kind)
    agent.locator(f"#event-{note.pk}-internal").wait_for(timeout=3000)
    assert_accessible(agent)
    reply.refresh_from_db()
    assert reply.delivery is not None
    assert reply.delivery.status == DeliveryStatus.SENT

    # The citizen sees the answer, never the note, and replies on the same page.
    citizen.goto(status_url)
    assert citizen.get_by_text(REPLY).is_visible()
    assert citizen.get_by_text(NOTE).count() == 0
    assert_accessible(citizen)
    citizen.get_by_label("Your message").fill(CITIZEN_REPLY)
    citizen.get_by_role("button", name="Send message").click()
    citizen.get_by_text("Your message has been added to your request.").wait_for()
    assert_accessible(citizen)

    # The reply lands on the same case and the agent's open case page shows it live.
    agent.locator("#timeline").get_by_text(CITIZEN_REPLY).wait_for(timeout=3000)
    assert Case.objects.count() == 1
    assert list(case.events.filter(kind=MessageReceived.kind).values_list("body", flat=True)) == [
        "The recycling was not collected.",
        CITIZEN_REPLY,
    ]


def _wait_for_event(case: Case, kind: str) -> CaseEvent:
    import time

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        event = CaseEvent.objects.filter(case=case, kind=kind).order_by("-id").first()
        if event is not None:
            return event
        time.sleep(0.05)
    raise AssertionError(f"no {kind} event on {case.reference}")
