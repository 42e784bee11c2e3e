"""Service-level targets, pausing clocks and escalation, for callers holding plain values.

Nothing here knows about cases: the caller passes what its case stores (due times, the start
of an ongoing pause, the markers of escalations already run, priority, queue id) and gets back
new values and decisions to apply. The arithmetic is the pure kernels' (`business_time`,
`clocks`, `escalation`); these functions add the policy and calendar from the database.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import holidays as holidays_lib

from civicdesk.core.memo import remembered
from civicdesk.core.priority import Priority
from civicdesk.sla.kernels import business_time
from civicdesk.sla.kernels.clocks import ClockReading, read_due, shift_due
from civicdesk.sla.kernels.escalation import (
    Action,
    Escalation,
    EscalationPolicy,
    Level,
    LevelRule,
    Marker,
    Target,
    decide_escalations,
    next_check_at,
)
from civicdesk.sla.models import (
    BusinessCalendar,
    EscalationLevel,
    EscalationRule,
    SlaPolicy,
    SlaTarget,
)

# The kernels' vocabulary, for apps that may import only this module.
__all__ = [
    "Action",
    "ClockReading",
    "ClockReview",
    "Escalation",
    "Level",
    "Marker",
    "SlaTargets",
    "Target",
    "compute_targets",
    "escalation_policy",
    "resume_due_times",
    "review_clocks",
]


@dataclass(frozen=True)
class SlaTargets:
    policy_id: int
    policy_name: str
    first_response_due_at: datetime
    resolution_due_at: datetime


@functools.lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    table = holidays_lib.country_holidays(country, subdiv=subdivision or None, years=[year])
    return frozenset(table.keys())


def calendar_spec(calendar: BusinessCalendar, *, years: range) -> business_time.BusinessCalendar:
    """The calendar as the kernel reads it; public holidays from a per-process cache (they are
    fixed for a year), the rest remembered for a worker's batch (`core.memo`)."""
    return remembered(
        ("sla.calendar_spec", calendar.pk, calendar.updated_at, years.start, years.stop),
        lambda: _calendar_spec(calendar, years=years),
    )


def _calendar_spec(calendar: BusinessCalendar, *, years: range) -> business_time.BusinessCalendar:
    closed: set[date] = {date.fromisoformat(day) for day in calendar.extra_closed_dates}
    if calendar.holiday_country:
        for year in years:
            closed |= _public_holidays(calendar.holiday_country, calendar.holiday_subdivision, year)
    hours = {
        int(weekday): tuple((int(start), int(end)) for start, end in windows)
        for weekday, windows in calendar.hours.items()
    }
    return business_time.BusinessCalendar(calendar.timezone, hours, frozenset(closed))


def policy_for(*, policy_id: int | None) -> SlaPolicy | None:
    """The policy (with its calendar), else the default one; remembered for a worker's batch."""
    return remembered(("sla.policy_for", policy_id), lambda: _policy_for(policy_id))


def _policy_for(policy_id: int | None) -> SlaPolicy | None:
    query = SlaPolicy.objects.select_related("calendar")
    if policy_id is not None:
        policy = query.filter(pk=policy_id).first()
        if policy is not None:
            return policy
    return query.filter(is_default=True).first()


def compute_targets(*, policy_id: int | None, priority: str, start: datetime) -> SlaTargets | None:
    """Due times for a case of `priority` opened at `start`; None when no policy applies."""
    policy = policy_for(policy_id=policy_id)
    if policy is None:
        return None
    target = remembered(("sla.target", policy.pk, priority), lambda: _target(policy, priority))
    if target is None:
        return None
    # Holidays for this year and the next few cover any target a year out.
    spec = calendar_spec(policy.calendar, years=range(start.year, start.year + 3))
    return SlaTargets(
        policy_id=policy.pk,
        policy_name=policy.name,
        first_response_due_at=business_time.add_business_time(
            start, timedelta(minutes=target.first_response_minutes), spec
        ),
        resolution_due_at=business_time.add_business_time(
            start, timedelta(minutes=target.resolution_minutes), spec
        ),
    )


def _target(policy: SlaPolicy, priority: str) -> SlaTarget | None:
    target = SlaTarget.objects.filter(policy=policy, priority=priority).first()
    if target is None:
        target = SlaTarget.objects.filter(policy=policy, priority=Priority.NORMAL).first()
    return target


def _spec_around(policy: SlaPolicy, instant: datetime) -> business_time.BusinessCalendar:
    # A year either side covers a warning before a due time and a pause over New Year.
    return calendar_spec(policy.calendar, years=range(instant.year - 1, instant.year + 3))


def escalation_policy(policy: SlaPolicy) -> EscalationPolicy:
    """The policy's warning time and escalation rules as plain values (one query, once per
    worker batch)."""
    return remembered(("sla.escalation_policy", policy.pk), lambda: _escalation_policy(policy))


def _escalation_policy(policy: SlaPolicy) -> EscalationPolicy:
    rules: dict[str, LevelRule] = {
        rule.level: LevelRule(
            notify_supervisor=rule.notify_supervisor,
            raise_priority=rule.raise_priority,
            reassign_to_queue_id=rule.reassign_to_queue_id,
        )
        for rule in EscalationRule.objects.filter(policy=policy)
    }
    return EscalationPolicy(
        warn_within=timedelta(minutes=policy.warn_within_minutes),
        warning=rules.get(EscalationLevel.WARNING, LevelRule()),
        breach=rules.get(EscalationLevel.BREACH, LevelRule()),
    )


def resume_due_times(
    *,
    policy_id: int | None,
    due_times: Mapping[Target, datetime | None],
    paused_at: datetime,
    resumed_at: datetime,
) -> dict[Target, datetime | None]:
    """The due times after a pause from `paused_at` to `resumed_at` (the citizen answered).

    Each due time that the pause began before moves later by the business time the pause
    covered; a missed one stays missed; None stays None. Without a policy nothing moves.
    Cost: one policy query and a walk over the calendar for each due time.
    """
    policy = policy_for(policy_id=policy_id)
    if policy is None:
        return dict(due_times)
    spec = _spec_around(policy, paused_at)
    return {
        target: None
        if due is None
        else shift_due(due_at=due, paused_at=paused_at, resumed_at=resumed_at, calendar=spec)
        for target, due in due_times.items()
    }


@dataclass(frozen=True)
class ClockReview:
    """The case's clocks at one instant and what to do about them.

    `readings` per running clock; `escalations` to record (their markers), announce and apply,
    in order; `next_check_at` the instant to look again (None: nothing can escalate until a
    clock resumes or restarts), computed as if every escalation returned had been recorded.
    """

    readings: dict[Target, ClockReading]
    escalations: list[Escalation]
    next_check_at: datetime | None


def review_clocks(
    *,
    policy_id: int | None,
    due_times: Mapping[Target, datetime | None],
    paused_at: datetime | None,
    escalated: Collection[str],
    priority: str,
    queue_id: int | None,
    now: datetime,
) -> ClockReview:
    """Read a case's clocks at `now` and decide its escalations; writes nothing.

    `due_times`: the running clocks' due times (None or absent for a clock that stopped: the
    first response was made, the case is finished). `escalated`: the markers already recorded
    (`str(Marker)`, e.g. "first_response:warning"). Calling again after recording the markers
    returns no escalation twice. Cost: two queries (policy, rules) and a calendar walk per clock.
    """
    policy = policy_for(policy_id=policy_id)
    if policy is None:
        return ClockReview({}, [], None)
    rules = escalation_policy(policy)
    spec = _spec_around(policy, now)
    readings = {
        target: read_due(
            due_at=due,
            paused_at=paused_at,
            now=now,
            calendar=spec,
            warn_within=rules.warn_within,
        )
        for target, due in due_times.items()
        if due is not None
    }
    done = {Marker.parse(text) for text in escalated}
    escalations = decide_escalations(
        readings=readings, done=done, policy=rules, priority=priority, queue_id=queue_id
    )
    done |= {escalation.marker for escalation in escalations}
    return ClockReview(readings, escalations, next_check_at(readings=readings, done=done))
