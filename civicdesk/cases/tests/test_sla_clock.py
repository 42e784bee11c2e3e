"""Service-level clocks through the case services: pause while waiting, resume on the
citizen's reply, and escalation by the periodic job with a frozen clock (`now=` passed in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicdesk.cases.models import Case
from civicdesk.cases.presenters import Audience, present_entry
from civicdesk.cases.selectors import timeline
from civicdesk.cases.services import (
    change_case_status,
    escalate_due_cases,
    open_case,
    record_citizen_message,
)
from civicdesk.core.periodic import discover_jobs
from civicdesk.realtime.models import RealtimeEvent
from civicdesk.realtime.publish import user_group
from civicdesk.sla.models import EscalationRule
from tests.factories import CitizenFactory

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def london(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def _open(riverton: Any, *, at: datetime, priority: str = "normal", service: Any = None) -> Case:
    return open_case(
        citizen=CitizenFactory.create(),
        channel="portal",
        subject="Bin not collected",
        service=service or riverton.missed_bin,
        priority=priority,
        opened_at=at,
    )


def test_waiting_pauses_and_the_citizens_reply_resumes_over_a_weekend_and_a_bank_holiday(
    riverton: Any,
) -> None:
    # Friday 28 August 2026 15:00; Monday 31 August is the summer bank holiday in England.
    case = _open(riverton, at=london(2026, 8, 28, 15))
    assert case.sla_policy_id == riverton.policy.pk
    assert case.first_response_due_at == london(2026, 9, 1, 15)
    assert case.resolution_due_at == london(2026, 9, 7, 15)
    assert case.sla_check_at == london(2026, 9, 1, 14, 30)  # 30 business minutes' warning

    change_case_status(case=case, status="waiting", by=riverton.ann, at=london(2026, 8, 28, 16))
    case = Case.objects.get(pk=case.pk)
    assert (case.sla_paused_at, case.sla_due_at, case.sla_check_at) == (
        london(2026, 8, 28, 16),
        None,
        None,
    )
    # Nothing escalates while the case waits, however late it gets.
    assert escalate_due_cases(now=london(2026, 9, 30, 12)) == 0

    # The citizen answers on Tuesday 10:00: the pause covered Friday 16-17 and Tuesday 9-10.
    record_citizen_message(
        case=case, body="Still not emptied", channel="portal", at=london(2026, 9, 1, 10)
    )
    case.refresh_from_db()
    assert case.status == "open"
    assert case.sla_paused_at is None
    assert case.first_response_due_at == london(2026, 9, 1, 17)
    assert case.resolution_due_at == london(2026, 9, 7, 17)
    assert case.sla_due_at == london(2026, 9, 1, 17)
    assert case.sla_check_at == london(2026, 9, 1, 16, 30)
    kinds = [entry.kind for entry in timeline(case=case, public_only=False)]
    assert kinds[-5:] == [
        "case.status.changed",
        "case.sla.paused",
        "case.message.received",
        "case.status.changed",
        "case.sla.resumed",
    ]
    resumed = list(timeline(case=case, public_only=False))[-1]
    shown = present_entry(resumed, audience=Audience.STAFF)
    assert shown is not None
    assert shown.title == "Service-level clock resumed"
    assert shown.details == (("Due", "2026-09-01 16:00 UTC"),)
    assert present_entry(resumed, audience=Audience.CITIZEN) is None


def test_resolving_a_waiting_case_stops_its_clocks(riverton: Any) -> None:
    case = _open(riverton, at=london(2026, 8, 28, 15))
    change_case_status(case=case, status="waiting", by=riverton.ann, at=london(2026, 8, 28, 16))
    change_case_status(case=case, status="resolved", by=riverton.ann, at=london(2026, 9, 1, 10))
    case.refresh_from_db()
    assert (case.sla_paused_at, case.sla_due_at, case.sla_check_at) == (None, None, None)
    assert case.first_response_due_at == london(2026, 9, 1, 17)


business_instants = st.datetimes(
    min_value=datetime(2026, 8, 24), max_value=datetime(2026, 9, 11), timezones=st.just(LONDON)
).map(lambda value: value.replace(second=0, microsecond=0))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(opened=business_instants, wait=st.timedeltas(timedelta(0), timedelta(days=9)))
def test_a_pause_through_the_services_moves_due_times_by_the_business_time_it_covered(
    riverton: Any, opened: datetime, wait: timedelta
) -> None:
    from civicdesk.sla.kernels.business_time import business_time_between
    from civicdesk.sla.services import calendar_spec

    spec = calendar_spec(riverton.calendar, years=range(2025, 2028))
    case = _open(riverton, at=opened)
    before = case.resolution_due_at
    assert before is not None
    paused = opened + timedelta(minutes=1)
    resumed = paused + wait
    change_case_status(case=case, status="waiting", by=riverton.ann, at=paused)
    record_citizen_message(case=case, body="Here you are", channel="portal", at=resumed)
    case.refresh_from_db()
    assert case.resolution_due_at is not None
    assert business_time_between(before, case.resolution_due_at, spec) == business_time_between(
        paused, resumed, spec
    )
    assert case.sla_paused_at is None


@pytest.fixture
def escalating(riverton: Any) -> Any:
    EscalationRule.objects.create(policy=riverton.policy, level="warning", notify_supervisor=True)
    EscalationRule.objects.create(
        policy=riverton.policy,
        level="breach",
        notify_supervisor=True,
        raise_priority="step",
        reassign_to_queue=riverton.general_queue,
    )
    return riverton


def test_the_job_warns_then_escalates_the_breach_once_with_a_frozen_clock(
    escalating: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.REALTIME_BACKEND = "database"
    riverton = escalating
    # Monday 23 November 2026 09:00, high priority: first response due 11:00, warning 10:30.
    case = _open(riverton, at=london(2026, 11, 23, 9), priority="high", service=riverton.pothole)
    assert (case.queue, case.assignee) == (riverton.roads_queue, riverton.cara)
    assert case.sla_check_at == london(2026, 11, 23, 10, 30)

    assert escalate_due_cases(now=london(2026, 11, 23, 10, 29)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert escalate_due_cases(now=london(2026, 11, 23, 10, 31)) == 1
    case.refresh_from_db()
    assert case.sla_escalated == ["first_response:warning"]
    assert case.sla_check_at == london(2026, 11, 23, 11)
    assert (case.priority, case.queue) == ("high", riverton.roads_queue)
    warned = RealtimeEvent.objects.get(kind="case.sla.warned")
    assert warned.groups == ["workspace", user_group(riverton.supervisor.pk)]
    assert warned.data["remaining_minutes"] == 29
    assert warned.data["actions"] == ["notify_supervisor"]
    assert warned.data["notified_ids"] == [riverton.supervisor.pk]
    # The same minute again, or any time before the due time: nothing twice.
    assert escalate_due_cases(now=london(2026, 11, 23, 10, 31)) == 0
    assert escalate_due_cases(now=london(2026, 11, 23, 10, 59)) == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert escalate_due_cases(now=london(2026, 11, 23, 11, 1)) == 1
    case.refresh_from_db()
    assert case.sla_escalated == ["first_response:warning", "first_response:breach"]
    assert case.priority == "urgent"
    assert case.queue == riverton.general_queue
    assert case.assignee is not None
    assert case.assignee in (riverton.ann, riverton.bob)
    # Targets are not recomputed by the raise; the next check is the resolution warning.
    assert case.first_response_due_at == london(2026, 11, 23, 11)
    assert case.sla_check_at == london(2026, 11, 24, 16, 30)
    breached = RealtimeEvent.objects.get(kind="case.sla.breached")
    assert breached.groups == ["workspace", user_group(riverton.supervisor.pk)]
    assert breached.data["actions"] == ["raise_priority", "reassign", "notify_supervisor"]
    assert breached.data["priority"] == "urgent"
    assert escalate_due_cases(now=london(2026, 11, 23, 11, 1)) == 0
    assert RealtimeEvent.objects.filter(kind__startswith="case.sla.").count() == 2

    entries = list(timeline(case=case, public_only=False))
    titles = [v.title for v in (present_entry(e, audience=Audience.STAFF) for e in entries) if v]
    assert titles[-3:] == [
        "First response target due soon (29 business minutes left)",
        "First response target missed",
        f"Assigned to {case.assignee.get_full_name()} in General enquiries automatically",
    ]
    citizen = [present_entry(e, audience=Audience.CITIZEN) for e in entries]
    assert all(v is None or "target" not in v.title for v in citizen)


def test_the_escalation_job_is_registered_every_minute() -> None:
    job = discover_jobs()["cases.escalate"]
    assert job.every == timedelta(minutes=1)


def test_a_run_takes_a_bounded_batch_oldest_check_first(escalating: Any) -> None:
    first = _open(escalating, at=london(2026, 11, 23, 9), priority="high")
    second = _open(escalating, at=london(2026, 11, 23, 9, 5), priority="high")
    assert escalate_due_cases(now=london(2026, 11, 23, 10, 40), limit=1) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.sla_escalated, second.sla_escalated) == (["first_response:warning"], [])
    assert escalate_due_cases(now=london(2026, 11, 23, 10, 40), limit=1) == 1
    second.refresh_from_db()
    assert second.sla_escalated == ["first_response:warning"]
    assert first.sla_check_at == datetime(2026, 11, 23, 11, tzinfo=UTC)


def test_the_migration_links_existing_cases_to_their_policy_and_schedules_open_ones(
    riverton: Any,
) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("civicdesk.cases.migrations.0005_case_sla_clock")
    open_one = _open(riverton, at=london(2026, 11, 23, 9))
    finished = _open(riverton, at=london(2026, 11, 23, 9))
    Case.objects.filter(pk=open_one.pk).update(sla_policy=None, sla_check_at=None)
    Case.objects.filter(pk=finished.pk).update(
        sla_policy=None, sla_check_at=None, status="closed", sla_due_at=None
    )

    migration.link_policies_and_schedule_checks(apps, None)

    open_one.refresh_from_db()
    finished.refresh_from_db()
    assert (open_one.sla_policy_id, finished.sla_policy_id) == (riverton.policy.pk,) * 2
    assert open_one.sla_check_at is not None
    assert finished.sla_check_at is None
    # Checked at once: the job's first look escalates both clocks, long missed by now.
    assert escalate_due_cases(now=open_one.sla_check_at) == 2
    open_one.refresh_from_db()
    assert open_one.sla_escalated == ["first_response:breach", "resolution:breach"]
    assert open_one.sla_check_at is None
