"""Service-level clocks that pause: due times, time left and the clock's state. Pure.

A clock counts business time (see `business_time`) from its start towards a target. While the
case waits on the citizen the clock is paused: the business time a pause covers does not count,
so a finished pause moves the due time later by exactly that much business time, and an ongoing
pause means there is no due time at all until the citizen answers. A pause that begins after the
due time changes nothing: a missed target stays missed.

Two ways in, which agree (a property test holds them to it):

- from the whole history — `due_time` / `read_clock` take the start, the target and every pause;
- step by step — a case stores only its current due time and the instant its ongoing pause
  began; `shift_due` moves the due time when the pause ends, and `read_due` reads the clock.

Everything takes `now` as a value and returns aware UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from civicdesk.sla.kernels.business_time import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
    subtract_business_time,
)


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"  # waiting on the citizen; no due time until they answer
    WARNING = "warning"  # running, with no more than the policy's warning time left
    BREACHED = "breached"  # the due time has passed (paused or not)


@dataclass(frozen=True)
class Pause:
    """One stretch of waiting on the citizen; `ended_at` is None while it goes on."""

    started_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True)
class Due:
    """When a clock falls due. `due_at` is None while an ongoing pause holds it; `remaining`
    is then the business time that will be left when the clock resumes."""

    due_at: datetime | None
    remaining: timedelta


@dataclass(frozen=True)
class ClockReading:
    """A clock at one instant.

    `remaining` is business time left; negative once breached (the business time overdue).
    `due_at` and `warn_at` (when the warning state begins) are None while paused. `elapsed`
    is the business time counted so far, known only when read from the whole history.
    """

    state: ClockState
    due_at: datetime | None
    warn_at: datetime | None
    remaining: timedelta
    elapsed: timedelta | None = None


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def normalise_pauses(pauses: Iterable[Pause], *, start: datetime) -> list[Pause]:
    """Pauses in order, clipped to `start`, overlaps merged, all in UTC.

    Refuses a pause that ends before it begins, and an ongoing pause followed by another one
    (a clock cannot be paused twice at once).
    """
    start = _utc(start, "start")
    ordered: list[Pause] = []
    for pause in pauses:
        begins = _utc(pause.started_at, "pause start")
        ends = None if pause.ended_at is None else _utc(pause.ended_at, "pause end")
        if ends is not None and ends < begins:
            raise ValueError(f"a pause cannot end ({ends}) before it begins ({begins})")
        ordered.append(Pause(begins, ends))
    ordered.sort(key=lambda pause: pause.started_at)
    merged: list[Pause] = []
    for original in ordered:
        if original.ended_at is not None and original.ended_at <= start:
            continue
        pause = Pause(max(original.started_at, start), original.ended_at)
        if merged:
            last = merged[-1]
            if last.ended_at is None:
                raise ValueError("an ongoing pause cannot be followed by another pause")
            if pause.started_at <= last.ended_at:
                ends = None if pause.ended_at is None else max(last.ended_at, pause.ended_at)
                merged[-1] = Pause(last.started_at, ends)
                continue
        merged.append(pause)
    return merged


def due_time(
    *,
    start: datetime,
    target: timedelta,
    pauses: Iterable[Pause],
    calendar: BusinessCalendar,
) -> Due:
    """When `target` of business time, not counting pauses, has passed since `start`.

    Cost: one walk over the calendar's windows from `start` to the due time.
    """
    if target < timedelta(0):
        raise ValueError("target must not be negative")
    cursor = _utc(start, "start")
    remaining = target
    for pause in normalise_pauses(pauses, start=cursor):
        candidate = add_business_time(cursor, remaining, calendar)
        if candidate <= pause.started_at:
            return Due(candidate, remaining - business_time_between(cursor, candidate, calendar))
        remaining -= business_time_between(cursor, pause.started_at, calendar)
        if pause.ended_at is None:
            return Due(None, remaining)
        cursor = pause.ended_at
    return Due(add_business_time(cursor, remaining, calendar), timedelta(0))


def counted_time(
    *, start: datetime, until: datetime, pauses: Iterable[Pause], calendar: BusinessCalendar
) -> timedelta:
    """Business time from `start` to `until`, less the business time pauses covered."""
    start = _utc(start, "start")
    until = _utc(until, "until")
    total = business_time_between(start, until, calendar)
    for pause in normalise_pauses(pauses, start=start):
        ends = until if pause.ended_at is None else min(pause.ended_at, until)
        total -= business_time_between(pause.started_at, ends, calendar)
    return total


def warning_at(*, due_at: datetime, warn_within: timedelta, calendar: BusinessCalendar) -> datetime:
    """The instant from which no more than `warn_within` of business time is left."""
    return subtract_business_time(_utc(due_at, "due_at"), warn_within, calendar)


def shift_due(
    *, due_at: datetime, paused_at: datetime, resumed_at: datetime, calendar: BusinessCalendar
) -> datetime:
    """The due time after a pause from `paused_at` to `resumed_at` ended.

    A pause that began before the due time moves it later by the business time the pause
    covered; one that began at or after it (the target already missed) changes nothing.
    """
    due_at = _utc(due_at, "due_at")
    paused_at = _utc(paused_at, "paused_at")
    resumed_at = _utc(resumed_at, "resumed_at")
    if resumed_at < paused_at:
        raise ValueError("a clock cannot resume before it was paused")
    covered = business_time_between(paused_at, resumed_at, calendar)
    if paused_at >= due_at or covered == timedelta(0):
        # Adding nothing would carry a due time at closing over to the next opening.
        return due_at
    return add_business_time(due_at, covered, calendar)


def read_due(
    *,
    due_at: datetime,
    paused_at: datetime | None,
    now: datetime,
    calendar: BusinessCalendar,
    warn_within: timedelta,
) -> ClockReading:
    """The clock at `now` from its stored due time and the start of an ongoing pause, if any.

    `due_at` already includes every finished pause (see `shift_due`). Precondition: an ongoing
    pause began no later than `now`.
    """
    due_at = _utc(due_at, "due_at")
    now = _utc(now, "now")
    if paused_at is not None:
        paused_at = _utc(paused_at, "paused_at")
        if paused_at > now:
            raise ValueError("a pause cannot begin after now")
        if paused_at < due_at:
            return ClockReading(
                ClockState.PAUSED, None, None, business_time_between(paused_at, due_at, calendar)
            )
    warn_at = warning_at(due_at=due_at, warn_within=warn_within, calendar=calendar)
    if now >= due_at:
        overdue = business_time_between(due_at, now, calendar)
        return ClockReading(ClockState.BREACHED, due_at, warn_at, -overdue)
    remaining = business_time_between(now, due_at, calendar)
    state = ClockState.WARNING if now >= warn_at else ClockState.RUNNING
    return ClockReading(state, due_at, warn_at, remaining)


def read_clock(
    *,
    start: datetime,
    target: timedelta,
    pauses: Iterable[Pause],
    now: datetime,
    calendar: BusinessCalendar,
    warn_within: timedelta,
) -> ClockReading:
    """The clock at `now` from its whole history. Pauses must not begin or end after `now`."""
    now = _utc(now, "now")
    history = normalise_pauses(pauses, start=start)
    for pause in history:
        if pause.started_at > now or (pause.ended_at is not None and pause.ended_at > now):
            raise ValueError("pauses must lie before now")
    due = due_time(start=start, target=target, pauses=history, calendar=calendar)
    elapsed = counted_time(start=start, until=now, pauses=history, calendar=calendar)
    if due.due_at is None:
        return ClockReading(ClockState.PAUSED, None, None, due.remaining, elapsed)
    warn_at = warning_at(due_at=due.due_at, warn_within=warn_within, calendar=calendar)
    if now >= due.due_at:
        state = ClockState.BREACHED
    elif now >= warn_at:
        state = ClockState.WARNING
    else:
        state = ClockState.RUNNING
    return ClockReading(state, due.due_at, warn_at, target - elapsed, elapsed)
