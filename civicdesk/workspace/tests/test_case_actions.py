from __future__ import annotations

import json
from typing import Any

from django.test import Client
from django.utils.timezone import localtime

from civicdesk.cases.events import CaseAssigned, NoteAdded, ReplySent
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.selectors import timeline
from civicdesk.cases.services import change_case_status
from civicdesk.channels.models import DeliveryStatus
from civicdesk.workspace.tests.conftest import OpenCase

HTMX = {"HX-Request": "true"}


def events_of(case: Case) -> list[tuple[str, str]]:
    return list(CaseEvent.objects.filter(case=case).values_list("kind", "body"))


def test_reply_creates_a_public_outbound_event_with_a_sent_delivery(
    riverton: Any,
    open_case: OpenCase,
    ann_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    case = open_case()

    # The delivery task is enqueued on commit; the immediate task backend then sends it.
    with django_capture_on_commit_callbacks(execute=True):
        response = ann_client.post(
            f"/workspace/cases/{case.reference}/reply/",
            {"body": "  We will collect it tomorrow. "},
        )

    assert response.status_code == 303
    assert response["Location"] == f"/workspace/cases/{case.reference}/"
    reply = CaseEvent.objects.get(case=case, kind=ReplySent.kind)
    assert (reply.body, reply.is_public, reply.channel, reply.author) == (
        "We will collect it tomorrow.",
        True,
        "portal",
        riverton.ann,
    )
    assert reply.delivery is not None
    reply.delivery.refresh_from_db()
    assert reply.delivery.status == DeliveryStatus.SENT
    case.refresh_from_db()
    assert case.status == "open"
    assert case.first_responded_at == reply.created_at

    page = ann_client.get(response["Location"]).content.decode()
    assert "Reply sent to the citizen by Web portal." in page
    assert f'<p class="delivery delivery--sent" id="event-{reply.pk}-delivery">' in page
    sent = localtime(reply.delivery.sent_at)
    assert f"Delivery: <strong>Sent (sent {sent:%d %b %Y %H:%M})</strong>" in page


def test_an_empty_reply_is_refused_and_nothing_is_added(
    open_case: OpenCase, ann_client: Client
) -> None:
    case = open_case()
    before = events_of(case)

    response = ann_client.post(f"/workspace/cases/{case.reference}/reply/", {"body": "   "})

    assert response.status_code == 400
    assert 'id="reply-errors"' in response.content.decode()
    assert events_of(case) == before


def test_htmx_reply_returns_the_form_with_the_timeline_and_summary_out_of_band(
    open_case: OpenCase, ann_client: Client
) -> None:
    case = open_case()

    response = ann_client.post(
        f"/workspace/cases/{case.reference}/reply/", {"body": "On its way."}, headers=HTMX
    )
    html = response.content.decode()

    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="reply-form"')
    blank_reply = (
        '<textarea name="body" cols="40" rows="6" maxlength="20000" required id="reply-body">'
    )
    assert blank_reply + "\n</textarea>" in html
    for part in ('<section id="timeline"', '<section id="case-summary"', '<form id="status-form"'):
        assert part in html
    assert "<p>On its way.</p>" in html
    assert json.loads(response["HX-Trigger"]) == {
        "announce": {"message": "Reply sent to the citizen by Web portal."}
    }


def test_an_internal_note_is_shown_to_staff_but_not_in_the_public_timeline(
    riverton: Any, open_case: OpenCase, ann_client: Client
) -> None:
    case = open_case()

    response = ann_client.post(
        f"/workspace/cases/{case.reference}/note/", {"body": "Crew says the lane was blocked."}
    )

    assert response.status_code == 303
    note = CaseEvent.objects.get(case=case, kind=NoteAdded.kind)
    assert (note.is_public, note.author, note.delivery) == (False, riverton.ann, None)
    assert note not in list(timeline(case=case, public_only=True))
    page = ann_client.get(response["Location"]).content.decode()
    marker = f'<p class="internal-badge" id="event-{note.pk}-internal">'
    assert marker + "<strong>Internal note — not visible to the citizen</strong></p>" in page


def test_an_invalid_status_transition_is_refused_and_the_status_is_unchanged(
    riverton: Any, open_case: OpenCase, ann_client: Client
) -> None:
    case = open_case()
    change_case_status(case=case, status="closed", by=riverton.ann)
    before = events_of(case)

    response = ann_client.post(f"/workspace/cases/{case.reference}/status/", {"status": "open"})

    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="status-errors"' in html
    assert "<li>A case cannot go from closed to open</li>" in html
    case.refresh_from_db()
    assert case.status == "closed"
    assert events_of(case) == before


def test_an_invalid_status_transition_by_htmx_returns_only_the_form(
    riverton: Any, open_case: OpenCase, ann_client: Client
) -> None:
    case = open_case()
    change_case_status(case=case, status="closed", by=riverton.ann)

    response = ann_client.post(
        f"/workspace/cases/{case.reference}/status/", {"status": "open"}, headers=HTMX
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert html.lstrip().startswith('<form id="status-form"')
    assert '<section id="timeline"' not in html
    # Only the allowed move is offered.
    assert '<option value="reopened">Reopened</option>' in html
    assert '<option value="open">' not in html
    case.refresh_from_db()
    assert case.status == "closed"


def test_an_unknown_status_is_refused_as_bad_input(open_case: OpenCase, ann_client: Client) -> None:
    case = open_case()

    response = ann_client.post(f"/workspace/cases/{case.reference}/status/", {"status": "gone"})

    assert response.status_code == 400
    case.refresh_from_db()
    assert case.status == "new"


def test_a_valid_status_change_is_saved(open_case: OpenCase, ann_client: Client) -> None:
    case = open_case()

    response = ann_client.post(f"/workspace/cases/{case.reference}/status/", {"status": "resolved"})

    assert response.status_code == 303
    case.refresh_from_db()
    assert case.status == "resolved"
    assert case.resolved_at is not None


def test_assign_to_another_agent_and_queue(
    riverton: Any, open_case: OpenCase, ann_client: Client
) -> None:
    case = open_case()
    assert (case.assignee, case.queue) == (riverton.ann, riverton.waste_queue)

    response = ann_client.post(
        f"/workspace/cases/{case.reference}/assign/",
        {"assignee": riverton.cara.pk, "queue": riverton.roads_queue.pk},
    )

    assert response.status_code == 303
    case.refresh_from_db()
    assert (case.assignee, case.queue) == (riverton.cara, riverton.roads_queue)
    event = CaseEvent.objects.filter(case=case, kind=CaseAssigned.kind).latest("id")
    assert (event.author, event.as_event()) == (
        riverton.ann,
        CaseAssigned(
            reference=case.reference,
            status=case.status,
            queue_id=riverton.roads_queue.pk,
            assignee_id=riverton.cara.pk,
            priority=case.priority,
            previous="Ann Abbott",
            to="Cara Cole",
            to_id=riverton.cara.pk,
            queue="Roads",
        ),
    )


def test_assign_to_me_by_htmx(riverton: Any, open_case: OpenCase) -> None:
    from civicdesk.workspace.tests.conftest import signed_in

    case = open_case()
    bob = signed_in(riverton.bob)

    response = bob.post(
        f"/workspace/cases/{case.reference}/assign/",
        {"assignee": "", "queue": "", "to_me": "1"},
        headers=HTMX,
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="assign-form"')
    assert '<dd id="summary-assignee">Bob Brown</dd>' in html
    assert json.loads(response["HX-Trigger"]) == {
        "announce": {"message": "Assigned to Bob Brown in Waste."}
    }
    case.refresh_from_db()
    assert (case.assignee, case.queue) == (riverton.bob, riverton.waste_queue)


def test_assigning_to_an_inactive_colleague_is_refused(
    riverton: Any, open_case: OpenCase, ann_client: Client
) -> None:
    case = open_case()
    riverton.bob.is_active = False
    riverton.bob.save(update_fields=["is_active"])

    response = ann_client.post(
        f"/workspace/cases/{case.reference}/assign/", {"assignee": riverton.bob.pk}
    )

    assert response.status_code == 400
    case.refresh_from_db()
    assert case.assignee == riverton.ann


def test_actions_only_accept_post(open_case: OpenCase, ann_client: Client) -> None:
    case = open_case()

    for action in ("reply", "note", "status", "assign"):
        assert ann_client.get(f"/workspace/cases/{case.reference}/{action}/").status_code == 405
