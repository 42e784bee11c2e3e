from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from civicdesk.routing.models import Queue
from civicdesk.sla.kernels.clocks import ClockState
from civicdesk.sla.kernels.escalation import (
    Action,
    EscalationPolicy,
    Level,
    LevelRule,
    Marker,
    Step,
    Target,
)
from civicdesk.sla.models import EscalationRule, SlaPolicy
from civicdesk.sla.services import (
    compute_targets,
    escalation_policy,
    resume_due_times,
    review_clocks,
)

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")


def london(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def rules(riverton: Any) -> Any:
    EscalationRule.objects.create(policy=riverton.policy, level="warning", notify_supervisor=True)
    EscalationRule.objects.create(
        policy=riverton.policy,
        level="breach",
        notify_supervisor=True,
        raise_priority="step",
        reassign_to_queue=riverton.general_queue,
    )
    return riverton


def test_the_policy_rules_become_plain_values(rules: Any) -> None:
    assert escalation_policy(rules.policy) == EscalationPolicy(
        warn_within=timedelta(minutes=30),
        warning=LevelRule(notify_supervisor=True),
        breach=LevelRule(
            notify_supervisor=True,
            raise_priority="step",
            reassign_to_queue_id=rules.general_queue.pk,
        ),
    )


def test_a_policy_without_rules_only_warns_and_breaches(riverton: Any) -> None:
    SlaPolicy.objects.filter(pk=riverton.policy.pk).update(warn_within_minutes=45)
    riverton.policy.refresh_from_db()
    assert escalation_policy(riverton.policy) == EscalationPolicy(warn_within=timedelta(minutes=45))


def test_targets_name_the_policy_that_applied(riverton: Any) -> None:
    targets = compute_targets(policy_id=None, priority="normal", start=london(2026, 11, 23, 9))
    assert targets is not None
    assert (targets.policy_id, targets.policy_name) == (riverton.policy.pk, "Standard")


def test_breach_escalation_with_a_frozen_clock(rules: Any) -> None:
    """A case due at 10:00 warns once at 09:45, escalates its breach once at 10:01."""
    due = {Target.FIRST_RESPONSE: london(2026, 11, 23, 10), Target.RESOLUTION: None}
    escalated: list[str] = []

    def review(now: datetime, priority: str, queue_id: int) -> Any:
        result = review_clocks(
            policy_id=rules.policy.pk,
            due_times=due,
            paused_at=None,
            escalated=escalated,
            priority=priority,
            queue_id=queue_id,
            now=now,
        )
        escalated.extend(str(escalation.marker) for escalation in result.escalations)
        return result

    early = review(london(2026, 11, 23, 9, 15), "normal", rules.waste_queue.pk)
    assert early.escalations == []
    assert early.readings[Target.FIRST_RESPONSE].state is ClockState.RUNNING
    assert early.next_check_at == london(2026, 11, 23, 9, 30).astimezone(UTC)

    warned = review(london(2026, 11, 23, 9, 45), "normal", rules.waste_queue.pk)
    assert [(e.marker, e.steps) for e in warned.escalations] == [
        (Marker(Target.FIRST_RESPONSE, Level.WARNING), (Step(Action.NOTIFY_SUPERVISOR),))
    ]
    assert warned.readings[Target.FIRST_RESPONSE].remaining == timedelta(minutes=15)
    assert warned.next_check_at == london(2026, 11, 23, 10).astimezone(UTC)

    breached = review(london(2026, 11, 23, 10, 1), "normal", rules.waste_queue.pk)
    assert [(e.marker, e.steps) for e in breached.escalations] == [
        (
            Marker(Target.FIRST_RESPONSE, Level.BREACH),
            (
                Step(Action.RAISE_PRIORITY, priority="high"),
                Step(Action.REASSIGN, queue_id=rules.general_queue.pk),
                Step(Action.NOTIFY_SUPERVISOR),
            ),
        )
    ]
    assert breached.next_check_at is None

    again = review(london(2026, 11, 23, 10, 1), "high", rules.general_queue.pk)
    assert again.escalations == []
    assert escalated == ["first_response:warning", "first_response:breach"]


def test_a_paused_case_is_neither_warned_nor_breached(rules: Any) -> None:
    result = review_clocks(
        policy_id=None,
        due_times={Target.FIRST_RESPONSE: london(2026, 11, 23, 10)},
        paused_at=london(2026, 11, 23, 9),
        escalated=[],
        priority="normal",
        queue_id=None,
        now=london(2026, 11, 25, 12),
    )
    assert result.escalations == []
    assert result.next_check_at is None
    assert result.readings[Target.FIRST_RESPONSE].state is ClockState.PAUSED
    assert result.readings[Target.FIRST_RESPONSE].remaining == timedelta(minutes=60)


def test_resuming_moves_due_times_past_the_bank_holiday(riverton: Any) -> None:
    # Paused Friday 28 August 2026 16:00, the citizen answers Tuesday 1 September 10:00 (Monday
    # is the summer bank holiday): two business hours covered.
    moved = resume_due_times(
        policy_id=None,
        due_times={
            Target.FIRST_RESPONSE: london(2026, 8, 28, 15, 30),  # missed before the pause
            Target.RESOLUTION: london(2026, 9, 1, 15),
        },
        paused_at=london(2026, 8, 28, 16),
        resumed_at=london(2026, 9, 1, 10),
    )
    assert moved == {
        Target.FIRST_RESPONSE: london(2026, 8, 28, 15, 30),
        Target.RESOLUTION: london(2026, 9, 1, 17),
    }


def test_without_any_policy_nothing_moves_or_escalates(riverton: Any) -> None:
    SlaPolicy.objects.update(is_default=False)
    due = {Target.RESOLUTION: london(2026, 9, 1, 15)}
    assert (
        resume_due_times(
            policy_id=None,
            due_times=due,
            paused_at=london(2026, 8, 28, 16),
            resumed_at=london(2026, 9, 1, 10),
        )
        == due
    )
    result = review_clocks(
        policy_id=None,
        due_times=due,
        paused_at=None,
        escalated=[],
        priority="normal",
        queue_id=None,
        now=london(2026, 9, 2, 10),
    )
    assert (result.readings, result.escalations, result.next_check_at) == ({}, [], None)


def test_one_rule_per_level(rules: Any) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        EscalationRule.objects.create(policy=rules.policy, level="warning")
    assert EscalationRule.objects.filter(policy=rules.policy).count() == 2


def test_a_queue_that_escalations_reassign_to_cannot_be_deleted(rules: Any) -> None:
    with pytest.raises(ProtectedError), transaction.atomic():
        rules.general_queue.delete()
    assert Queue.objects.filter(pk=rules.general_queue.pk).exists()


def test_the_policy_admin_shows_the_warning_time_and_escalation_rules(
    rules: Any, client: Any
) -> None:
    client.force_login(rules.admin)
    url = f"/admin/sla/slapolicy/{rules.policy.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert b"escalations-0-level" in page.content
    assert b"warn_within_minutes" in page.content
