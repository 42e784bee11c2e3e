"""The citizen journey in a real Chromium: without JavaScript, and checked by axe-core."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from playwright.sync_api import Browser, Page

from civicdesk.cases.models import Case
from civicdesk.channels.models import InboundPayload, OutboundDelivery
from civicdesk.channels.services import accept_inbound, ensure_account
from tests.browser import axe_violations
from tests.factories import portal_payload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _violations(page: Page) -> list[str]:
    """Every axe-core violation, whatever its impact: the portal aims higher than the gate."""
    return axe_violations(page, impacts=None)


def test_a_citizen_can_send_a_request_and_reply_without_javascript(
    riverton: Any, live_server: Any, browser: Browser
) -> None:
    page = browser.new_context(java_script_enabled=False).new_page()
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Missed bin collection").click()

    page.get_by_role("button", name="Send request").click()
    assert page.get_by_role("heading", name="There is a problem").is_visible()

    page.get_by_label("Recycling").check()
    page.get_by_label("Address of the collection").fill("1 River Street")
    page.get_by_label("Describe the problem").fill("Not collected.")
    page.get_by_label("Full name").fill("Jo Citizen")
    page.get_by_label("Email address").fill("jo@mail.example")
    page.get_by_role("button", name="Send request").click()

    case = Case.objects.get()
    assert page.get_by_role("heading", name="Request sent").is_visible()
    assert page.locator(".reference").inner_text() == case.reference
    page.get_by_label("Your message").fill("It is the blue bin.")
    page.get_by_role("button", name="Send message").click()
    assert page.get_by_text("Your message has been added to your request.").is_visible()
    assert case.events.filter(body="It is the blue bin.").count() == 1

    page.get_by_role("button", name="Română").click()
    assert page.get_by_role("heading", name=f"Solicitarea {case.reference}").is_visible()


def test_the_portal_pages_pass_axe_wcag_checks(
    riverton: Any, live_server: Any, browser: Browser
) -> None:
    page = browser.new_page()
    page.goto(f"{live_server.url}/")
    assert _violations(page) == []

    page.goto(f"{live_server.url}/services/pothole/")
    assert _violations(page) == []
    page.get_by_role("button", name="Send request").click()
    # The answer is a new page: wait for it, then for its script to move focus to the summary.
    page.wait_for_function(
        "document.activeElement && document.activeElement.className === 'error-summary'",
        timeout=5000,
    )
    assert _violations(page) == []

    page.get_by_label("Where is the pothole?").fill("High Street")
    page.get_by_label("Describe the problem").fill("Deep hole.")
    page.get_by_label("Full name").fill("Jo Citizen")
    page.get_by_label("Phone number").fill("07911 123456")
    page.get_by_role("button", name="Send request").click()
    assert page.get_by_role("heading", name="Request sent").is_visible()
    assert _violations(page) == []

    page.get_by_role("button", name="Send message").click()
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    assert _violations(page) == []


@pytest.mark.parametrize("javascript", [False, True], ids=["without-js", "with-js"])
def test_switching_language_after_a_refused_reply_shows_the_status_page(
    riverton: Any, live_server: Any, browser: Browser, javascript: bool
) -> None:
    page = browser.new_context(java_script_enabled=javascript).new_page()
    page.goto(f"{live_server.url}/services/pothole/")
    page.get_by_label("Where is the pothole?").fill("High Street")
    page.get_by_label("Describe the problem").fill("Deep hole.")
    page.get_by_label("Full name").fill("Jo Citizen")
    page.get_by_label("Phone number").fill("07911 123456")
    page.get_by_role("button", name="Send request").click()
    case = Case.objects.get()
    page.get_by_role("button", name="Send message").click()
    assert page.get_by_role("heading", name="There is a problem").is_visible()

    with page.expect_navigation():
        page.get_by_role("button", name="Română").click()

    assert page.get_by_role("heading", name=f"Solicitarea {case.reference}").is_visible()
    assert page.locator("html").get_attribute("lang") == "ro"
    assert page.url.endswith("/")


def test_a_request_not_yet_routed_shows_its_reference_and_passes_axe_without_javascript(
    riverton: Any, live_server: Any, browser: Browser, settings: Any
) -> None:
    # Tasks wait for a worker, as in production: the request is acknowledged, not yet a case.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    page = browser.new_context(java_script_enabled=False).new_page()
    page.goto(f"{live_server.url}/services/pothole/")
    page.get_by_label("Where is the pothole?").fill("High Street")
    page.get_by_label("Describe the problem").fill("Deep hole.")
    page.get_by_label("Full name").fill("Jo Citizen")
    page.get_by_label("Phone number").fill("07911 123456")
    page.get_by_role("button", name="Send request").click()

    payload = InboundPayload.objects.get()
    assert Case.objects.count() == 0
    assert page.get_by_role("heading", name="Request received").is_visible()
    assert page.locator(".reference").inner_text() == payload.reference
    assert page.get_by_text("It has not been routed to a team yet.").is_visible()
    checked = browser.new_page()  # axe-core runs as a script: the same page with JavaScript
    checked.goto(page.url)
    assert checked.get_by_role("heading", name="Request received").is_visible()
    assert _violations(checked) == []

    call_command(
        "db_worker", batch=True, startup_delay=False, reload=False, interval=0.1, stdout=StringIO()
    )
    page.get_by_role("link", name="Refresh this page").click()

    assert page.get_by_role("heading", name=f"Request {payload.reference}").is_visible()
    assert Case.objects.get().reference == payload.reference


def test_asking_for_lost_links_works_without_javascript_and_passes_axe(
    riverton: Any, live_server: Any, browser: Browser, settings: Any
) -> None:
    cache.clear()
    settings.CIVICDESK_LINK_RESEND_PER_ADDRESS = 1
    ensure_account(kind="email", name="Help desk", values={"address": "help@riverton.example"})
    accept_inbound(channel="portal", raw=portal_payload(), process_now=True)
    page = browser.new_context(java_script_enabled=False).new_page()
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Lost the link to a request? Get it by email").click()
    page.get_by_role("button", name="Send me the links").click()
    assert page.get_by_role("heading", name="There is a problem").is_visible()
    page.get_by_label("Email address").fill("jo@mail.example")
    page.get_by_role("button", name="Send me the links").click()
    assert page.get_by_role("heading", name="Check your email").is_visible()
    assert OutboundDelivery.objects.filter(recipient="jo@mail.example").count() == 1

    checked = browser.new_page()  # axe-core runs as a script: the same pages with JavaScript
    checked.goto(f"{live_server.url}/lost-link/")
    assert _violations(checked) == []
    checked.get_by_role("button", name="Send me the links").click()
    checked.wait_for_function(
        "document.activeElement && document.activeElement.className === 'error-summary'",
        timeout=5000,
    )
    assert _violations(checked) == []
    checked.get_by_label("Email address").fill("jo@mail.example")
    response_codes: list[int] = []
    checked.on("response", lambda r: response_codes.append(r.status))
    checked.get_by_role("button", name="Send me the links").click()
    assert checked.get_by_role("heading", name="Please wait before asking again").is_visible()
    assert 429 in response_codes
    assert _violations(checked) == []
    checked.goto(f"{live_server.url}/lost-link/?sent=1")
    assert _violations(checked) == []
    checked.get_by_role("button", name="Română").click()
    assert checked.get_by_role("heading", name="Verificați-vă emailul").is_visible()
    assert _violations(checked) == []


def _help_articles() -> None:
    from civicdesk.knowledge.tests.factories import published

    published(
        "pets",
        versions={
            "en": ("Dogs and cats in parks", "<p>Dogs must be on a <strong>lead</strong>.</p>"),
            "ro": ("Câini și pisici în parcuri", "<p>Câinii stau în lesă.</p>"),
        },
    )
    published("parking", versions={"en": ("Parking permits", "<p>Apply online.</p>")})


def test_a_citizen_finds_and_reads_an_answer_without_javascript(
    live_server: Any, browser: Browser
) -> None:
    _help_articles()
    page = browser.new_context(java_script_enabled=False).new_page()
    page.goto(f"{live_server.url}/")
    page.get_by_label("Search our help articles").fill("my dog in the park")
    page.get_by_role("button", name="Search").click()

    # "park" is the stem of "parking" too: both are found, the one about dogs first.
    assert page.get_by_role("heading", name="Articles found: 2").is_visible()
    assert page.locator(".article-card__link").all_inner_texts() == [
        "Dogs and cats in parks",
        "Parking permits",
    ]
    assert page.locator(".article-card__snippet mark").all_inner_texts() == ["Dogs"]
    page.get_by_role("link", name="Dogs and cats in parks").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Dogs and cats in parks"

    page.get_by_role("button", name="Română").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Câini și pisici în parcuri"
    page.get_by_role("link", name="Toate articolele de ajutor").click()
    assert page.get_by_role("heading", name="Găsiți un răspuns").is_visible()
    page.get_by_role("link", name="Parking permits").click()
    assert page.locator("article").get_attribute("lang") == "en"


@pytest.mark.parametrize("language", ["en", "ro"])
def test_the_help_pages_pass_axe_wcag_checks(
    live_server: Any, browser: Browser, language: str
) -> None:
    _help_articles()
    page = browser.new_page()
    page.goto(f"{live_server.url}/help/")
    if language == "ro":
        with page.expect_navigation():
            page.get_by_role("button", name="Română").click()
    for path in (
        "/help/",
        "/help/?q=dogs+lead",
        "/help/?q=zeppelin",
        "/help/pets/",
        "/help/parking/",
    ):
        page.goto(f"{live_server.url}{path}")
        assert page.locator("html").get_attribute("lang") == language
        assert (path, _violations(page)) == (path, [])
