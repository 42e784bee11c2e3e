"""The workspace in a real Chromium against a live ASGI server: htmx, live updates, keyboard."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from civicdesk.accounts.models import User
from civicdesk.cases.events import ReplySent
from civicdesk.cases.models import CaseEvent
from civicdesk.cases.services import change_case_status
from civicdesk.workspace.tests.conftest import accept
from tests.browser import assert_accessible, sign_in_to_workspace
from tests.factories import PASSWORD, build_riverton, portal_payload

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def agent_page(live_asgi: str, browser: Any) -> Iterator[Any]:
    riverton = build_riverton()
    context = browser.new_context(base_url=live_asgi)
    page = context.new_page()
    page.goto("/workspace/")
    assert page.url.endswith("/workspace/login/?next=/workspace/")
    assert_accessible(page)
    sign_in_to_workspace(page, riverton.ann.email, PASSWORD)
    yield page
    context.close()


def test_a_new_case_appears_in_the_inbox_without_a_reload(agent_page: Any) -> None:
    page = agent_page
    page.evaluate("window.__sameDocument = true")
    assert page.locator("#inbox-empty").is_visible()

    started = time.monotonic()
    case = accept("portal", portal_payload())
    page.locator(f"#row-{case.reference}").wait_for(timeout=3000)
    elapsed = time.monotonic() - started

    assert elapsed < 1.5
    assert page.evaluate("window.__sameDocument") is True
    page.wait_for_function(
        "document.getElementById('live-region').textContent.startsWith('New case')"
    )
    assert page.text_content("#live-region") == f"New case {case.reference}, assigned to you"
    assert page.text_content("#tab-mine .tabs__count") == "1 open"
    assert_accessible(page)


def test_filters_swap_only_the_list_and_keep_the_address_current(agent_page: Any) -> None:
    page = agent_page
    case = accept("portal", portal_payload())
    page.locator(f"#row-{case.reference}").wait_for(timeout=3000)
    page.evaluate("window.__sameDocument = true")

    page.focus("#filter-status")
    page.select_option("#filter-status", "closed")
    page.locator("#inbox-empty").wait_for(timeout=3000)

    assert page.evaluate("window.__sameDocument") is True
    assert "status=closed" in page.url
    assert page.evaluate("document.activeElement.id") == "filter-status"

    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "inbox-search"


def test_reply_by_keyboard_on_the_case_page(agent_page: Any) -> None:
    page = agent_page
    case = accept("portal", portal_payload())
    page.locator(f"#case-link-{case.reference}").wait_for(timeout=3000)
    page.goto(f"/workspace/cases/{case.reference}/")
    assert_accessible(page)

    page.keyboard.press("?")
    assert page.locator("#shortcuts-dialog").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#shortcuts-dialog").is_visible()

    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "reply-body"
    page.keyboard.type("Collected this afternoon.")
    page.keyboard.press("Tab")  # the file picker
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "reply-submit"
    page.keyboard.press("Enter")

    page.wait_for_function(
        "document.getElementById('live-region').textContent"
        " === 'Reply sent to the citizen by Web portal.'"
    )
    reply = CaseEvent.objects.get(case=case, kind=ReplySent.kind)
    page.locator(f"#event-{reply.pk}").wait_for(timeout=3000)
    assert page.input_value("#reply-body") == ""
    assert page.text_content("#summary-status") == "Open"
    assert page.evaluate("document.activeElement.id") == "reply-submit"

    page.keyboard.press("g")
    page.keyboard.press("i")
    page.wait_for_url(re.compile(r"/workspace/$"))


def test_a_refused_status_change_shows_the_reason_in_place(agent_page: Any) -> None:
    page = agent_page
    case = accept("portal", portal_payload())
    page.goto(f"/workspace/cases/{case.reference}/")
    # A colleague closes the case while this page is open.
    change_case_status(case=case, status="closed", by=User.objects.get(full_name="Bob Brown"))
    # The live update reaches the summary; the status form on screen still offers "open".
    page.wait_for_function(
        "document.getElementById('summary-status').textContent.trim() === 'Closed'"
    )

    page.select_option("#new-status", "open")
    page.click("#status-submit")
    page.locator("#status-errors").wait_for(timeout=3000)

    assert "A case cannot go from closed to open" in page.text_content("#status-errors")
    # htmx focuses [autofocus] when the swap settles, a moment after the content lands.
    page.wait_for_function("document.activeElement.id === 'status-errors'", timeout=3000)
    case.refresh_from_db()
    assert case.status == "closed"
