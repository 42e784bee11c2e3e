"""The case page in a real browser, with axe-core: the reply form with its channel choice, and
the notice that takes its place for a citizen nobody can reach by reply."""

from __future__ import annotations

from typing import Any

import pytest

from civicdesk.cases.services import open_case
from civicdesk.citizens.services import ContactInput, identify_citizen
from tests.browser import assert_accessible, sign_in_to_workspace
from tests.factories import PASSWORD, build_riverton, portal_payload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_reply_form_and_the_unreachable_notice_are_accessible(
    live_asgi: str, browser: Any
) -> None:
    from civicdesk.channels.services import accept_inbound

    riverton = build_riverton()
    accepted = accept_inbound(channel="portal", raw=portal_payload(), process_now=True)
    by_portal = accepted.payload.result_reference
    citizen = identify_citizen(
        contacts=[ContactInput(kind="phone", value="+447911123456")], full_name="Jo Citizen"
    )
    by_phone = open_case(citizen=citizen, channel="phone", subject="Streetlight", service=None)

    page = browser.new_context(base_url=live_asgi).new_page()
    page.goto("/workspace/login/")
    sign_in_to_workspace(page, riverton.ann.email, PASSWORD)

    page.goto(f"/workspace/cases/{by_portal}/")
    assert page.locator("#reply-route option").all_inner_texts() == ["Web portal"]
    assert_accessible(page)

    page.goto(f"/workspace/cases/{by_phone.reference}/")
    assert page.locator("#reply-unreachable").inner_text() == (
        "This citizen can't be reached by reply: the case came by phone and we have no "
        "email address for them — phone them and record a note."
    )
    assert page.locator("#reply-body").count() == 0
    assert_accessible(page)
