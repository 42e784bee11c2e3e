"""Business-time arithmetic over a weekly timetable and holidays. Pure: no ORM, no clock.

A calendar is a time zone, opening windows per weekday (minutes from local midnight) and the
dates it is closed. Windows are turned into real instants in that zone, so a window that spans
a daylight-saving change is as long as the real time that passes in it. All results are aware
UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
# Searching further than this for opening hours means the calendar is effectively closed.
MAX_SEARCH_DAYS = 3 * 366

Window = tuple[int, int]


class ClosedCalendar(ValueError):
    """The calendar has no opening hours within reach, so no target can be computed."""


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str
    # weekday (Monday = 0) → opening windows as (start, end) minutes from local midnight
    hours: Mapping[int, tuple[Window, ...]]
    closed_dates: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)  # raises for an unknown zone
        for weekday, windows in self.hours.items():
            if weekday not in range(7):
                raise ValueError(f"weekday must be 0..6, got {weekday}")
            for start, end in windows:
                if not 0 <= start < end <= MINUTES_PER_DAY:
                    raise ValueError(f"window {start}-{end} must satisfy 0 <= start < end <= 1440")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def always_open(timezone: str = "UTC") -> BusinessCalendar:
    return BusinessCalendar(timezone, dict.fromkeys(range(7), ((0, MINUTES_PER_DAY),)))


def _local_instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    if minute >= MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), minute - MINUTES_PER_DAY
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return local.astimezone(UTC)


def windows_from(
    calendar: BusinessCalendar, start: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Opening windows as UTC instants, in order, from the local day containing `start`."""
    zone = calendar.zone
    day = start.astimezone(zone).date()
    for offset in range(MAX_SEARCH_DAYS):
        current = day + timedelta(days=offset)
        if current in calendar.closed_dates:
            continue
        for open_minute, close_minute in sorted(calendar.hours.get(current.weekday(), ())):
            opens = _local_instant(current, open_minute, zone)
            closes = _local_instant(current, close_minute, zone)
            if closes > opens:
                yield opens, closes


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def add_business_time(start: datetime, duration: timedelta, calendar: BusinessCalendar) -> datetime:
    """The instant when `duration` of open time has passed after `start`."""
    _require_aware(start, "start")
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    if not duration:
        # No open time has to pass: the answer is `start` itself, even at closing time or
        # outside opening hours (a pause that covered nothing must not move a due time).
        return start.astimezone(UTC)
    remaining = duration
    cursor = start.astimezone(UTC)
    for opens, closes in windows_from(calendar, cursor):
        if closes <= cursor:
            continue
        begin = max(opens, cursor)
        available = closes - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
        cursor = closes
    raise ClosedCalendar(f"no opening hours within {MAX_SEARCH_DAYS} days of {start.isoformat()}")


def business_time_between(start: datetime, end: datetime, calendar: BusinessCalendar) -> timedelta:
    """Open time between two instants; zero when `end` is not after `start`."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    total = timedelta(0)
    if end <= start:
        return total
    for opens, closes in windows_from(calendar, start):
        if opens >= end:
            break
        overlap = min(closes, end) - max(opens, start)
        if overlap > timedelta(0):
            total += overlap
    return total


def is_open_at(instant: datetime, calendar: BusinessCalendar) -> bool:
    _require_aware(instant, "instant")
    for opens, closes in windows_from(calendar, instant - timedelta(days=1)):
        if opens > instant:
            return False
        if opens <= instant < closes:
            return True
    return False


def windows_until(calendar: BusinessCalendar, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Opening windows as UTC instants, latest first, from the local day containing `end`."""
    zone = calendar.zone
    day = end.astimezone(zone).date()
    for offset in range(MAX_SEARCH_DAYS):
        current = day - timedelta(days=offset)
        if current in calendar.closed_dates:
            continue
        for open_minute, close_minute in sorted(
            calendar.hours.get(current.weekday(), ()), reverse=True
        ):
            opens = _local_instant(current, open_minute, zone)
            closes = _local_instant(current, close_minute, zone)
            if closes > opens:
                yield opens, closes


def subtract_business_time(
    end: datetime, duration: timedelta, calendar: BusinessCalendar
) -> datetime:
    """The latest instant from which `duration` of open time passes by `end`.

    The mirror of `add_business_time`: used for "warn when N business minutes remain". Raises
    `ClosedCalendar` when the calendar has too little open time before `end`.
    """
    _require_aware(end, "end")
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    cursor = end.astimezone(UTC)
    if duration == timedelta(0):
        return cursor
    remaining = duration
    for opens, closes in windows_until(calendar, cursor):
        if opens >= cursor:
            continue
        finish = min(closes, cursor)
        available = finish - opens
        if remaining <= available:
            return finish - remaining
        remaining -= available
        cursor = opens
    raise ClosedCalendar(f"no opening hours within {MAX_SEARCH_DAYS} days before {end.isoformat()}")
