"""An HTML-only email on the case page in a real Chromium: its own photo shows, nothing remote
is requested, the folded quote opens from the keyboard, and axe finds nothing serious."""

from __future__ import annotations

from typing import Any

import pytest

from civicdesk.cases.events import MessageReceived
from civicdesk.cases.models import CaseEvent
from civicdesk.workspace.tests.html_mail import accept_html_mail
from tests.browser import assert_accessible, sign_in_to_workspace
from tests.factories import PASSWORD, build_riverton

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_folded_quote_opens_by_keyboard_and_the_page_stays_accessible(
    live_asgi: str, browser: Any
) -> None:
    riverton = build_riverton()
    case = accept_html_mail()
    entry = CaseEvent.objects.get(case=case, kind=MessageReceived.kind)
    context = browser.new_context(base_url=live_asgi)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/workspace/login/")
    sign_in_to_workspace(page, riverton.ann.email, PASSWORD)
    page.goto(f"/workspace/cases/{case.reference}/")

    photo = page.locator(f"#event-{entry.pk}-html img[alt='The fallen tree']")
    photo.wait_for()
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth === 1", arg=photo.element_handle()
    )
    assert not [url for url in requested if not url.startswith(live_asgi)]

    folded = page.locator(f"#event-{entry.pk}-folded")
    quote = folded.locator("blockquote")
    assert folded.get_attribute("open") is None
    assert not quote.is_visible()
    summary = folded.locator("summary")
    summary.focus()
    page.keyboard.press("Enter")
    assert folded.get_attribute("open") == ""
    assert quote.inner_text() == "Please send us a photo of the tree."
    assert quote.is_visible()
    assert_accessible(page)
    page.keyboard.press("Space")
    assert folded.get_attribute("open") is None
    context.close()
