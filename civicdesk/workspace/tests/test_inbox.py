from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from civicdesk.cases.services import change_case_status, set_agent_available
from civicdesk.workspace.tests.conftest import OpenCase, signed_in


def references(html: str) -> list[str]:
    """Case references in the inbox table, in row order."""
    return re.findall(r'<tr id="row-([A-Z]+-\d{4}-\d{6})"', html)


def test_mine_shows_only_the_cases_assigned_to_me(
    riverton: Any, open_case: OpenCase, ann_client: Client
) -> None:
    first = open_case()  # rota: Ann, then Bob
    second = open_case()
    assert (first.assignee, second.assignee) == (riverton.ann, riverton.bob)

    html = ann_client.get("/workspace/").content.decode()

    assert references(html) == [first.reference]
    assert (
        '<a class="tabs__link" id="tab-mine" href="/workspace/?view=mine" aria-current="page">'
        in html
    )
    assert 'id="tab-mine"' in html
    assert re.search(r'id="tab-mine"[^>]*>Mine <span class="tabs__count">1<', html)
    assert re.search(r'id="tab-team"[^>]*>Team queues <span class="tabs__count">2<', html)
    assert re.search(r'id="tab-unassigned"[^>]*>Unassigned <span class="tabs__count">0<', html)
    assert re.search(r'id="tab-all"[^>]*>All <span class="tabs__count">2<', html)


def test_unassigned_shows_cases_waiting_in_a_queue(
    riverton: Any, open_case: OpenCase, ann_client: Client
) -> None:
    assigned = open_case()
    set_agent_available(agent=riverton.ann, is_available=False)
    set_agent_available(agent=riverton.bob, is_available=False)
    waiting = open_case()
    assert waiting.assignee is None

    html = ann_client.get("/workspace/?view=unassigned").content.decode()

    assert references(html) == [waiting.reference]
    assert assigned.reference not in html.split('id="inbox-list"')[1]
    assert (
        '<caption id="inbox-caption">Cases nobody is assigned to (open), page 1 of 1</caption>'
        in html
    )


def test_team_view_shows_my_teams_queues_only(riverton: Any, open_case: OpenCase) -> None:
    waste = open_case()
    roads = open_case(service_code="pothole", answers={"location": "High Street"})
    assert roads.queue == riverton.roads_queue
    assert roads.assignee == riverton.cara

    ann_refs = references(signed_in(riverton.ann).get("/workspace/?view=team").content.decode())
    cara_refs = references(signed_in(riverton.cara).get("/workspace/?view=team").content.decode())
    sam_refs = references(
        signed_in(riverton.supervisor).get("/workspace/?view=team").content.decode()
    )

    assert ann_refs == [waste.reference]
    assert cara_refs == [roads.reference]
    assert sorted(sam_refs) == sorted([waste.reference, roads.reference])


def test_all_view_lists_every_open_case_and_the_open_filter_hides_finished_ones(
    riverton: Any, open_case: OpenCase, ann_client: Client
) -> None:
    open_one = open_case()
    closed = open_case()
    change_case_status(case=closed, status="closed", by=riverton.ann)

    default = references(ann_client.get("/workspace/?view=all").content.decode())
    any_status = references(ann_client.get("/workspace/?view=all&status=").content.decode())
    only_closed = references(ann_client.get("/workspace/?view=all&status=closed").content.decode())

    assert default == [open_one.reference]
    assert sorted(any_status) == sorted([open_one.reference, closed.reference])
    assert only_closed == [closed.reference]


def test_filters_by_service_channel_priority_queue_and_search(
    riverton: Any, open_case: OpenCase, ann_client: Client
) -> None:
    bin_case = open_case(name="Jo Citizen")
    pothole = open_case(
        service_code="pothole",
        answers={"location": "High Street"},
        name="Pat Walker",
        email="pat@mail.example",
        description="Deep hole outside the school",
    )

    def listed(query: str) -> list[str]:
        return references(ann_client.get(f"/workspace/?view=all&{query}").content.decode())

    assert listed(f"service={riverton.pothole.pk}") == [pothole.reference]
    assert listed(f"queue={riverton.waste_queue.pk}") == [bin_case.reference]
    assert listed("channel=portal&sort=oldest") == [bin_case.reference, pothole.reference]
    assert listed("channel=console") == []
    assert listed("priority=urgent") == []
    assert listed("search=walker") == [pothole.reference]
    assert listed(f"search={bin_case.reference.lower()}") == [bin_case.reference]
    assert listed("search=not+collected") == [bin_case.reference]


def test_sorting_newest_and_oldest(open_case: OpenCase, ann_client: Client) -> None:
    cases = [open_case() for _ in range(3)]
    refs = [c.reference for c in cases]

    newest = references(ann_client.get("/workspace/?view=all&sort=newest").content.decode())
    oldest = references(ann_client.get("/workspace/?view=all&sort=oldest").content.decode())

    assert newest == refs[::-1]
    assert oldest == refs


def test_invalid_filter_values_fall_back_to_defaults(
    open_case: OpenCase, ann_client: Client
) -> None:
    case = open_case()

    response = ann_client.get("/workspace/?view=nonsense&service=abc&sort=sideways&per_page=x")

    assert response.status_code == 200
    assert references(response.content.decode()) == [case.reference]


def test_pagination_and_per_page_is_capped_at_one_hundred(
    open_case: OpenCase, ann_client: Client
) -> None:
    cases = [open_case() for _ in range(3)]

    first = ann_client.get("/workspace/?view=all&sort=oldest&per_page=2").content.decode()
    second = ann_client.get("/workspace/?view=all&sort=oldest&per_page=2&page=2").content.decode()
    capped = ann_client.get("/workspace/?view=all&per_page=500")

    assert references(first) == [cases[0].reference, cases[1].reference]
    assert references(second) == [cases[2].reference]
    assert 'id="page-next"' in first
    assert "Page 2 of 2" in second
    assert capped.context["page"].paginator.per_page == 100


def test_the_inbox_issues_a_constant_number_of_queries_whatever_the_page_size(
    open_case: OpenCase, ann_client: Client
) -> None:
    # Sixty citizens: one sender writing sixty times would be throttled by the inbound limit.
    for n in range(60):
        open_case(email=f"citizen{n}@mail.example")

    counts = {}
    for per_page in (10, 50):
        with CaptureQueriesContext(connection) as queries:
            response = ann_client.get(f"/workspace/?view=all&per_page={per_page}")
        assert len(references(response.content.decode())) == per_page
        counts[per_page] = len(queries)

    # session, user, tab counts, service and queue choices, page count, rows with relations
    assert counts == {10: 7, 50: 7}


def test_an_htmx_request_returns_only_the_list_partial_and_the_tab_counts(
    open_case: OpenCase, ann_client: Client
) -> None:
    case = open_case()

    response = ann_client.get("/workspace/?view=mine", headers={"HX-Request": "true"})
    html = response.content.decode()

    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="inbox-list"')
    assert references(html) == [case.reference]
    assert "<html" not in html
    assert 'id="inbox-filters"' not in html
    assert '<ul class="tabs" id="inbox-tabs" hx-swap-oob="true">' in html
    assert "HX-Request" in [v.strip() for v in response["Vary"].split(",")]


def test_changing_filters_by_htmx_announces_how_many_cases_match(
    open_case: OpenCase, ann_client: Client
) -> None:
    open_case()

    by_filters = ann_client.get(
        "/workspace/?view=all&status=",
        headers={"HX-Request": "true", "HX-Trigger": "inbox-filters"},
    )
    by_live_update = ann_client.get(
        "/workspace/?view=all", headers={"HX-Request": "true", "HX-Trigger": "inbox-list"}
    )

    assert json.loads(by_filters["HX-Trigger"]) == {"announce": {"message": "1 case found."}}
    assert "HX-Trigger" not in by_live_update


def test_a_history_restore_gets_the_whole_page(ann_client: Client, riverton: Any) -> None:
    response = ann_client.get(
        "/workspace/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )

    assert "<html" in response.content.decode()


def test_the_list_refreshes_itself_on_live_events_with_the_current_filters(
    riverton: Any, ann_client: Client
) -> None:
    html = ann_client.get("/workspace/?view=all&status=new").content.decode()

    assert (
        '<section id="inbox-list" class="inbox-list" aria-labelledby="inbox-list-heading"\n'
        '         hx-get="/workspace/?view=all&amp;status=new" hx-trigger="cases-changed from:body"'
    ) in html


def test_sla_due_is_shown_with_absolute_and_relative_time_and_words(
    open_case: OpenCase, ann_client: Client
) -> None:
    from datetime import timedelta

    from civicdesk.cases.models import Case
    from civicdesk.core.clock import now

    overdue = open_case()
    soon = open_case()
    Case.objects.filter(pk=overdue.pk).update(sla_due_at=now() - timedelta(hours=3))
    Case.objects.filter(pk=soon.pk).update(sla_due_at=now() + timedelta(minutes=30, seconds=30))

    html = ann_client.get("/workspace/?view=all").content.decode()
    rows = {ref: html.split(f'id="row-{ref}"')[1].split("</tr>")[0] for ref in references(html)}

    assert '<strong class="due__state">Overdue</strong>' in rows[overdue.reference]
    assert "(3\xa0hours ago)" in rows[overdue.reference]
    assert '<strong class="due__state">Due soon</strong>' in rows[soon.reference]
    assert "(in 30\xa0minutes)" in rows[soon.reference]
    assert '<time datetime="' in rows[soon.reference]


def _selected_rows_per_page(html: str) -> list[str]:
    """The options of the "Rows per page" control that the browser shows as chosen."""
    control = re.search(r'<select name="per_page"[^>]*>(.*?)</select>', html, re.DOTALL)
    assert control is not None
    return re.findall(r'<option value="(\d+)" selected>', control.group(1))


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("", "25"),
        ("&per_page=", "25"),
        ("&per_page=abc", "25"),
        ("&per_page=10", "10"),
        ("&per_page=25", "25"),
        ("&per_page=50", "50"),
        ("&per_page=100", "100"),
        ("&per_page=7", "7"),
        ("&per_page=500", "100"),
        ("&per_page=0", "1"),
    ],
)
def test_rows_per_page_shows_the_page_size_in_effect(
    ann_client: Client, riverton: Any, query: str, shown: str
) -> None:
    response = ann_client.get(f"/workspace/?view=all{query}")

    assert _selected_rows_per_page(response.content.decode()) == [shown]
    assert response.context["page"].paginator.per_page == int(shown)
