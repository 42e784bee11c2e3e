"""Service-level targets: which policy applies and when each target falls due."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import holidays as holidays_lib

from civicdesk.core.priority import Priority
from civicdesk.sla import business_time
from civicdesk.sla.models import BusinessCalendar, SlaPolicy, SlaTarget


@dataclass(frozen=True)
class SlaTargets:
    policy_name: str
    first_response_due_at: datetime
    resolution_due_at: datetime


@functools.lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    table = holidays_lib.country_holidays(country, subdiv=subdivision or None, years=[year])
    return frozenset(table.keys())


def calendar_spec(calendar: BusinessCalendar, *, years: range) -> business_time.BusinessCalendar:
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
    target = SlaTarget.objects.filter(policy=policy, priority=priority).first()
    if target is None:
        target = SlaTarget.objects.filter(policy=policy, priority=Priority.NORMAL).first()
    if target is None:
        return None
    # Holidays for this year and the next few cover any target a year out.
    spec = calendar_spec(policy.calendar, years=range(start.year, start.year + 3))
    return SlaTargets(
        policy_name=policy.name,
        first_response_due_at=business_time.add_business_time(
            start, timedelta(minutes=target.first_response_minutes), spec
        ),
        resolution_due_at=business_time.add_business_time(
            start, timedelta(minutes=target.resolution_minutes), spec
        ),
    )
