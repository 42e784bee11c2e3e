from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from civicdesk.sla.kernels.business_time import (
    BusinessCalendar,
    ClosedCalendar,
    add_business_time,
    always_open,
    business_time_between,
    is_open_at,
)

LONDON = ZoneInfo("Europe/London")
NINE_TO_FIVE = dict.fromkeys(range(5), ((9 * 60, 17 * 60),))
OFFICE = BusinessCalendar("Europe/London", NINE_TO_FIVE)


def london(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def test_adding_within_one_window_is_plain_addition() -> None:
    start = london(2026, 11, 23, 10, 0)  # Monday
    assert add_business_time(start, timedelta(hours=2), OFFICE) == london(2026, 11, 23, 12, 0)


def test_time_left_over_at_closing_carries_to_next_opening() -> None:
    start = london(2026, 11, 23, 16, 0)
    assert add_business_time(start, timedelta(hours=3), OFFICE) == london(2026, 11, 24, 11, 0)


def test_a_friday_afternoon_target_lands_on_monday() -> None:
    start = london(2026, 11, 27, 15, 30)  # Friday
    assert add_business_time(start, timedelta(hours=4), OFFICE) == london(2026, 11, 30, 11, 30)


def test_contact_outside_hours_starts_counting_at_opening() -> None:
    start = london(2026, 11, 28, 22, 0)  # Saturday night
    assert add_business_time(start, timedelta(minutes=30), OFFICE) == london(2026, 11, 30, 9, 30)


def test_public_holidays_are_skipped() -> None:
    christmas = OFFICE.__class__(
        "Europe/London", NINE_TO_FIVE, frozenset({date(2026, 12, 25), date(2026, 12, 28)})
    )
    start = london(2026, 12, 24, 16, 0)  # Thursday; Friday 25th and Monday 28th closed
    assert add_business_time(start, timedelta(hours=2), christmas) == london(2026, 12, 29, 10, 0)


def test_results_are_utc() -> None:
    result = add_business_time(london(2026, 7, 1, 10, 0), timedelta(hours=1), OFFICE)
    assert result.tzinfo is UTC
    assert result == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)  # 11:00 BST


def test_a_window_spanning_the_spring_clock_change_is_an_hour_shorter() -> None:
    # 29 March 2026: clocks go forward at 01:00 GMT; a 00:00-06:00 window lasts 5 real hours.
    night = BusinessCalendar("Europe/London", {6: ((0, 6 * 60),)})
    start = london(2026, 3, 29, 0, 0)
    assert business_time_between(start, london(2026, 3, 29, 6, 0), night) == timedelta(hours=5)
    assert add_business_time(start, timedelta(hours=5), night) == london(2026, 3, 29, 6, 0)


def test_a_window_spanning_the_autumn_clock_change_is_an_hour_longer() -> None:
    night = BusinessCalendar("Europe/London", {6: ((0, 6 * 60),)})
    start = london(2026, 10, 25, 0, 0)
    assert business_time_between(start, london(2026, 10, 25, 6, 0), night) == timedelta(hours=7)


def test_office_hours_keep_local_time_across_the_clock_change() -> None:
    # Friday 27 March (GMT) 16:00 + 2 h → Monday 30 March (BST) 10:00 local.
    result = add_business_time(london(2026, 3, 27, 16, 0), timedelta(hours=2), OFFICE)
    assert result == london(2026, 3, 30, 10, 0)
    assert result == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(datetime(2026, 1, 5, 10, 0), timedelta(hours=1), OFFICE)


def test_a_calendar_without_hours_cannot_produce_a_target() -> None:
    with pytest.raises(ClosedCalendar):
        add_business_time(
            london(2026, 1, 5, 10, 0), timedelta(hours=1), BusinessCalendar("Europe/London", {})
        )


def test_invalid_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="window"):
        BusinessCalendar("Europe/London", {0: ((600, 540),)})


def test_is_open_at() -> None:
    assert is_open_at(london(2026, 11, 23, 9, 0), OFFICE)
    assert not is_open_at(london(2026, 11, 23, 17, 0), OFFICE)
    assert not is_open_at(london(2026, 11, 22, 12, 0), OFFICE)  # Sunday


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
durations = st.integers(min_value=0, max_value=60 * 24 * 20).map(lambda m: timedelta(minutes=m))
holiday_sets = st.frozensets(
    st.dates(min_value=date(2025, 1, 1), max_value=date(2029, 6, 30)), max_size=40
)


@settings(max_examples=150, deadline=None)
@given(start=instants, duration=durations, closed=holiday_sets)
def test_adding_then_measuring_gives_back_the_duration(
    start: datetime, duration: timedelta, closed: frozenset[date]
) -> None:
    calendar = BusinessCalendar("Europe/London", NINE_TO_FIVE, closed)
    end = add_business_time(start, duration, calendar)
    assert end >= start
    assert business_time_between(start, end, calendar) == duration


@settings(max_examples=150, deadline=None)
@given(start=instants, first=durations, second=durations)
def test_adding_is_monotonic_and_composes(
    start: datetime, first: timedelta, second: timedelta
) -> None:
    one_step = add_business_time(start, first + second, OFFICE)
    two_steps = add_business_time(add_business_time(start, first, OFFICE), second, OFFICE)
    assert one_step == two_steps
    assert add_business_time(start, first, OFFICE) <= one_step


@settings(max_examples=100, deadline=None)
@given(start=instants, duration=durations)
@example(start=datetime(2025, 4, 1, 9, 0, 0, 1, tzinfo=UTC), duration=timedelta(minutes=16739))
def test_a_positive_target_falls_inside_opening_hours(start: datetime, duration: timedelta) -> None:
    end = add_business_time(start, duration + timedelta(minutes=1), OFFICE)
    local = end.astimezone(LONDON)
    assert local.weekday() < 5
    opens = local.replace(hour=9, minute=0, second=0, microsecond=0)
    closes = local.replace(hour=17, minute=0, second=0, microsecond=0)
    # Instants carry microseconds: 09:00:00.000001 is inside, 09:00:00 itself is not.
    assert opens < local <= closes


@settings(max_examples=100, deadline=None)
@given(start=instants, duration=durations)
def test_always_open_is_wall_clock_time(start: datetime, duration: timedelta) -> None:
    assert add_business_time(start, duration, always_open("Europe/Bucharest")) == start + duration


def test_adding_no_time_at_closing_stays_at_closing() -> None:
    closing = datetime(2025, 5, 13, 16, 0, tzinfo=UTC)  # 17:00 in London, a Tuesday
    assert add_business_time(closing, timedelta(0), OFFICE) == closing
    saturday = datetime(2025, 5, 17, 12, 0, tzinfo=UTC)
    assert add_business_time(saturday, timedelta(0), OFFICE) == saturday
