from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from civicdesk.accounts.models import User
from civicdesk.cases.events import CaseAssigned, ReplySent, StatusChanged
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.selectors import timeline
from civicdesk.cases.services import (
    add_internal_note,
    assign_case,
    change_case_status,
    issue_status_token,
    reply_to_case,
    set_agent_available,
)
from civicdesk.channels.models import DeliveryStatus, OutboundDelivery
from civicdesk.channels.services import accept_inbound
from civicdesk.core.errors import DomainError
from civicdesk.core.tokens import digest
from civicdesk.realtime.models import RealtimeEvent
from civicdesk.sla.services import compute_targets
from tests.factories import console_payload, portal_payload

pytestmark = pytest.mark.django_db


def _case(channel: str = "portal", **fields: Any) -> Case:
    raw = portal_payload(**fields) if channel == "portal" else console_payload(**fields)
    acceptance = accept_inbound(channel=channel, raw=raw, process_now=True)
    return Case.objects.get(reference=acceptance.payload.result_reference)


def test_a_reply_goes_out_in_the_channel_the_citizen_used(
    riverton: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = _case("console", text="bin not collected")
    with django_capture_on_commit_callbacks(execute=True):
        sent = reply_to_case(case=case, author=riverton.ann, body="  Collecting today.  ")
    event = sent.entry
    assert (sent.channel, sent.channel_label, sent.status) == (
        "console",
        "Console (development)",
        "open",
    )
    assert event.kind == ReplySent.kind
    assert event.body == "Collecting today."
    assert event.is_public
    assert event.channel == "console"
    delivery = OutboundDelivery.objects.get()
    assert delivery.recipient == "jo@mail.example"
    assert delivery.subject == f"[{case.reference}] bin not collected"
    assert delivery.status == DeliveryStatus.SENT


def test_the_first_reply_meets_first_response_and_opens_the_case(riverton: Any) -> None:
    case = _case()
    reply_to_case(case=case, author=riverton.ann, body="On it")
    case.refresh_from_db()
    assert case.status == "open"
    assert case.first_responded_at is not None
    assert case.sla_due_at == case.resolution_due_at
    first = case.first_responded_at
    reply_to_case(case=case, author=riverton.ann, body="Done")
    case.refresh_from_db()
    assert case.first_responded_at == first


def test_an_empty_reply_is_refused_and_changes_nothing(riverton: Any) -> None:
    case = _case()
    with pytest.raises(DomainError, match="needs some text"):
        reply_to_case(case=case, author=riverton.ann, body="   ")
    assert OutboundDelivery.objects.count() == 0
    assert not case.events.filter(kind=ReplySent.kind).exists()


def test_internal_notes_are_never_public_nor_sent(riverton: Any) -> None:
    case = _case()
    note = add_internal_note(case=case, author=riverton.bob, body="Crew is short this week")
    assert not note.is_public
    assert OutboundDelivery.objects.count() == 0
    assert note not in timeline(case=case, public_only=True)
    assert note in timeline(case=case, public_only=False)


def test_status_changes_follow_the_table_and_refusals_change_nothing(riverton: Any) -> None:
    case = _case()
    change_case_status(case=case, status="resolved", by=riverton.ann)
    case.refresh_from_db()
    assert case.status == "resolved"
    assert case.resolved_at is not None
    assert case.sla_due_at is None
    change_case_status(case=case, status="closed", by=riverton.ann)
    events_before = case.events.count()
    with pytest.raises(DomainError, match="cannot go from closed to open"):
        change_case_status(case=case, status="open", by=riverton.ann)
    case.refresh_from_db()
    assert case.status == "closed"
    assert case.events.count() == events_before
    with pytest.raises(DomainError, match="Unknown status 'done'"):
        change_case_status(case=case, status="done", by=riverton.ann)


def test_reassigning_records_who_and_where(riverton: Any) -> None:
    case = _case()
    assert case.assignee == riverton.ann
    assign_case(
        case=case, assignee=riverton.cara, by=riverton.supervisor, queue=riverton.roads_queue
    )
    case.refresh_from_db()
    assert case.assignee == riverton.cara
    assert case.queue == riverton.roads_queue
    event = case.events.filter(kind=CaseAssigned.kind).last()
    assert event is not None
    assert event.author == riverton.supervisor
    assert event.as_event() == CaseAssigned(
        reference=case.reference,
        status=case.status,
        queue_id=riverton.roads_queue.pk,
        assignee_id=riverton.cara.pk,
        priority=case.priority,
        previous="Ann Abbott",
        to="Cara Cole",
        to_id=riverton.cara.pk,
        queue="Roads",
    )


def test_assigning_to_an_inactive_colleague_is_refused(riverton: Any) -> None:
    case = _case()
    riverton.bob.is_active = False
    riverton.bob.save()
    with pytest.raises(DomainError, match="not an active member"):
        assign_case(case=case, assignee=riverton.bob, by=riverton.ann)
    case.refresh_from_db()
    assert case.assignee == riverton.ann


def test_an_agent_coming_back_takes_waiting_cases_in_due_order(riverton: Any) -> None:
    for agent in (riverton.ann, riverton.bob):
        set_agent_available(agent=agent, is_available=False)
    later, sooner = _case(), _case()
    assert later.assignee is None
    assert sooner.assignee is None
    assert later.sla_due_at is not None
    Case.objects.filter(pk=sooner.pk).update(sla_due_at=later.sla_due_at - timedelta(hours=2))
    assert set_agent_available(agent=riverton.bob, is_available=True) == 2
    handed_out = CaseEvent.objects.filter(kind=CaseAssigned.kind, data__to="Bob Brown").order_by(
        "id"
    )
    assert [event.case_id for event in handed_out] == [sooner.pk, later.pk]


def test_events_are_published_only_after_commit(
    riverton: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        case = _case()
        assert RealtimeEvent.objects.count() == 0  # not yet: the transaction is still open
    kinds = list(RealtimeEvent.objects.values_list("kind", flat=True))
    assert kinds == ["case.opened", "case.message.received"]
    created = RealtimeEvent.objects.get(kind="case.opened")
    assert created.data["reference"] == case.reference
    assert created.groups == ["workspace"]
    assert created.data["assignee_id"] == riverton.ann.pk


@transaction.atomic
def _resolve_then_fail(case: Case, *, by: Any) -> None:
    """A request whose change succeeds, then fails later on: everything rolls back."""
    change_case_status(case=case, status="resolved", by=by)
    raise RuntimeError("the request failed after the change")


def test_a_rolled_back_change_publishes_nothing(
    riverton: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = _case()
    RealtimeEvent.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        _resolve_then_fail(case, by=riverton.ann)
    assert RealtimeEvent.objects.count() == 0
    case.refresh_from_db()
    assert case.status == "new"
    assert CaseEvent.objects.filter(kind=StatusChanged.kind).count() == 0


def test_a_reopened_case_gets_a_fresh_resolution_target(riverton: Any) -> None:
    case = _case()
    reply_to_case(case=case, author=riverton.ann, body="Collected today.")
    change_case_status(case=case, status="resolved", by=riverton.ann)
    Case.objects.filter(pk=case.pk).update(resolution_due_at=timezone.now() - timedelta(days=3))
    case.refresh_from_db()
    accept_inbound(
        channel="portal",
        raw=portal_payload(
            status_token_digest=digest(issue_status_token(case=case)),
            service_code="",
            answers={},
            description="Again!",
        ),
        process_now=True,
    )
    case.refresh_from_db()
    reopened_at = case.events.get(kind=StatusChanged.kind, data__status="reopened").created_at
    expected = compute_targets(policy_id=None, priority=case.priority, start=reopened_at)
    assert expected is not None
    assert case.status == "reopened"
    assert case.resolution_due_at == expected.resolution_due_at
    assert case.sla_due_at == case.resolution_due_at


def test_a_case_never_answered_stays_due_for_its_first_response(riverton: Any) -> None:
    case = _case()
    change_case_status(case=case, status="resolved", by=riverton.ann)
    assert case.sla_due_at is None
    change_case_status(case=case, status="reopened", by=riverton.ann)
    case.refresh_from_db()
    assert case.sla_due_at == case.first_response_due_at


def test_waiting_cases_in_a_queue_with_nobody_free_do_not_stop_the_others(riverton: Any) -> None:
    for agent in (riverton.ann, riverton.bob, riverton.cara):
        set_agent_available(agent=agent, is_available=False)
    bins = _case()  # Waste: Ann and Bob away
    pothole = _case(service_code="pothole", answers={"location": "Mill Lane"})  # Roads: Cara away
    assert bins.assignee is None
    assert pothole.assignee is None
    Case.objects.filter(pk=bins.pk).update(sla_due_at=timezone.now())  # due first
    User.objects.filter(pk=riverton.cara.pk).update(is_available=True)  # back, unannounced
    # Sam supervises both teams but takes no cases from the rota. When Sam comes back, the
    # waiting cases are offered in due order: Waste has nobody free, Roads has Cara.
    # None of them went to Sam: the answer counts only Sam's own.
    assert set_agent_available(agent=riverton.supervisor, is_available=True) == 0
    bins.refresh_from_db()
    pothole.refresh_from_db()
    assert bins.assignee is None
    assert pothole.assignee == riverton.cara
