from __future__ import annotations

import json
from typing import Any

from django.test import Client

from civicdesk.cases.services import set_agent_available
from civicdesk.workspace.tests.conftest import OpenCase


def test_going_away_and_back_to_available_hands_me_a_waiting_case(
    riverton: Any, open_case: OpenCase, ann_client: Client
) -> None:
    set_agent_available(agent=riverton.bob, is_available=False)
    away = ann_client.post("/workspace/presence/", {"is_available": "0", "next": "/workspace/"})
    assert away.status_code == 303
    riverton.ann.refresh_from_db()
    assert riverton.ann.is_available is False
    waiting = open_case()
    assert waiting.assignee is None

    back = ann_client.post(
        "/workspace/presence/", {"is_available": "1", "next": "/workspace/?view=unassigned"}
    )

    assert back.status_code == 303
    assert back["Location"] == "/workspace/?view=unassigned"
    riverton.ann.refresh_from_db()
    waiting.refresh_from_db()
    assert riverton.ann.is_available is True
    assert waiting.assignee == riverton.ann
    page = ann_client.get("/workspace/").content.decode()
    assert "You are now Available. 1 waiting case assigned to you." in page
    assert '<span class="presence__state presence__state--available" id="presence-state">' in page


def test_presence_by_htmx_returns_the_toggle_and_announces(
    riverton: Any, ann_client: Client
) -> None:
    response = ann_client.post(
        "/workspace/presence/",
        {"is_available": "0"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/workspace/?view=all"},
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<form id="presence-form"')
    assert '<input type="hidden" name="next" value="/workspace/?view=all">' in html
    assert 'id="presence-state">Away</span>' in html
    assert '<button type="submit" name="is_available" value="1" id="presence-toggle"' in html
    assert json.loads(response["HX-Trigger"]) == {"announce": {"message": "You are now Away."}}


def test_presence_never_redirects_off_site(riverton: Any, ann_client: Client) -> None:
    response = ann_client.post(
        "/workspace/presence/", {"is_available": "1", "next": "https://evil.example/"}
    )

    assert response["Location"] == "/workspace/"


def test_an_unknown_presence_changes_nothing(riverton: Any, ann_client: Client) -> None:
    response = ann_client.post("/workspace/presence/", {"is_available": "maybe"})

    assert response.status_code == 400
    riverton.ann.refresh_from_db()
    assert riverton.ann.is_available is True
