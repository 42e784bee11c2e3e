"""The citizen panel in a real browser, with axe-core: an address a hard bounce marked is shown
as undeliverable, and the agent clears it with the keyboard (a plain form: no script needed)."""

from __future__ import annotations

from typing import Any

import pytest

from civicdesk.channels.services import accept_inbound
from civicdesk.citizens.models import ContactPoint
from civicdesk.citizens.services import mark_contact_point_undeliverable
from civicdesk.core.clock import now
from tests.browser import assert_accessible, sign_in_to_workspace
from tests.factories import PASSWORD, build_riverton, portal_payload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_undeliverable_address_is_shown_and_cleared_by_keyboard(
    live_asgi: str, browser: Any
) -> None:
    riverton = build_riverton()
    accepted = accept_inbound(
        channel="portal", raw=portal_payload(email="jo@mail.example"), process_now=True
    )
    reference = accepted.payload.result_reference
    mark_contact_point_undeliverable(
        kind="email",
        value="jo@mail.example",
        reason="The email to jo@mail.example bounced: 550 5.1.1 User unknown",
        at=now(),
    )
    point = ContactPoint.objects.get(kind="email", value="jo@mail.example")

    page = browser.new_context(base_url=live_asgi).new_page()
    page.goto("/workspace/login/")
    sign_in_to_workspace(page, riverton.ann.email, PASSWORD)
    page.goto(f"/workspace/cases/{reference}/")
    mark = page.locator(f"#contact-undeliverable-{point.pk}")
    assert mark.inner_text().startswith("Undeliverable since ")
    assert_accessible(page)

    button = page.locator(f"#contact-deliverable-{point.pk}")
    button.focus()
    with page.expect_navigation():  # the POST, then its redirect back to the same page
        page.keyboard.press("Enter")
    assert page.locator(f"#contact-undeliverable-{point.pk}").count() == 0
    assert ContactPoint.objects.get(pk=point.pk).undeliverable_at is None
    assert_accessible(page)
