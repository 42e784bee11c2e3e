from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from civicdesk.sla.kernels.business_time import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
    subtract_business_time,
)
from civicdesk.sla.kernels.clocks import (
    ClockState,
    Pause,
    counted_time,
    due_time,
    read_clock,
    read_due,
    shift_due,
)

LONDON = ZoneInfo("Europe/London")
NINE_TO_FIVE = dict.fromkeys(range(5), ((9 * 60, 17 * 60),))
BANK_HOLIDAYS = frozenset(holidays.country_holidays("GB", subdiv="ENG", years=range(2024, 2031)))
TOWN_HALL = BusinessCalendar("Europe/London", NINE_TO_FIVE, BANK_HOLIDAYS)
THIRTY = timedelta(minutes=30)


def london(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


# --- examples with exact times --------------------------------------------------------------


def test_without_pauses_the_due_time_is_plain_business_time() -> None:
    # Friday 28 August 2026 15:00 + 8 h: 2 h on Friday, Monday 31st is a bank holiday, 6 h Tuesday.
    due = due_time(
        start=london(2026, 8, 28, 15), target=minutes(480), pauses=[], calendar=TOWN_HALL
    )
    assert due.due_at == london(2026, 9, 1, 15)
    assert due.due_at.tzinfo is UTC


def test_friday_pause_resumed_on_the_tuesday_after_a_bank_holiday() -> None:
    # Paused Friday 16:00, answered Tuesday 10:00: the pause covered Friday 16-17 and Tuesday
    # 9-10, two business hours, so the due time moves from Tuesday 15:00 to Tuesday 17:00.
    pause = Pause(london(2026, 8, 28, 16), london(2026, 9, 1, 10))
    due = due_time(
        start=london(2026, 8, 28, 15), target=minutes(480), pauses=[pause], calendar=TOWN_HALL
    )
    assert due.due_at == london(2026, 9, 1, 17)
    assert shift_due(
        due_at=london(2026, 9, 1, 15),
        paused_at=pause.started_at,
        resumed_at=london(2026, 9, 1, 10),
        calendar=TOWN_HALL,
    ) == london(2026, 9, 1, 17)


def test_an_ongoing_pause_has_no_due_time_and_keeps_the_time_left() -> None:
    pause = Pause(london(2026, 8, 28, 16))
    due = due_time(
        start=london(2026, 8, 28, 15), target=minutes(480), pauses=[pause], calendar=TOWN_HALL
    )
    assert due.due_at is None
    assert due.remaining == minutes(420)
    reading = read_clock(
        start=london(2026, 8, 28, 15),
        target=minutes(480),
        pauses=[pause],
        now=london(2026, 9, 2, 12),
        calendar=TOWN_HALL,
        warn_within=THIRTY,
    )
    assert reading.state is ClockState.PAUSED
    assert (reading.due_at, reading.warn_at) == (None, None)
    assert (reading.remaining, reading.elapsed) == (minutes(420), minutes(60))


def test_a_pause_over_christmas_counts_only_the_open_days_it_covered() -> None:
    # Thursday 24 Dec 2026 16:00 → Tuesday 29 Dec 11:00; the 25th and the 28th (Boxing Day's
    # substitute) are bank holidays. Covered: Thursday 16-17, Tuesday 9-11 = 3 hours.
    paused, resumed = london(2026, 12, 24, 16), london(2026, 12, 29, 11)
    assert business_time_between(paused, resumed, TOWN_HALL) == minutes(180)
    before = london(2026, 12, 24, 17)  # due at Thursday's closing without the pause
    assert shift_due(
        due_at=before, paused_at=paused, resumed_at=resumed, calendar=TOWN_HALL
    ) == london(2026, 12, 29, 12)


def test_a_weekend_pause_outside_hours_changes_nothing() -> None:
    start = london(2026, 11, 27, 15)  # Friday
    plain = due_time(start=start, target=minutes(240), pauses=[], calendar=TOWN_HALL)
    weekend = Pause(london(2026, 11, 27, 18), london(2026, 11, 30, 8, 30))
    paused = due_time(start=start, target=minutes(240), pauses=[weekend], calendar=TOWN_HALL)
    assert plain.due_at == paused.due_at == london(2026, 11, 30, 11)


def test_a_pause_that_begins_after_the_due_time_leaves_the_breach_standing() -> None:
    due_at = london(2026, 11, 23, 10)
    assert (
        shift_due(
            due_at=due_at,
            paused_at=london(2026, 11, 23, 11),
            resumed_at=london(2026, 11, 24, 11),
            calendar=TOWN_HALL,
        )
        == due_at
    )
    reading = read_due(
        due_at=due_at,
        paused_at=london(2026, 11, 23, 11),
        now=london(2026, 11, 23, 12),
        calendar=TOWN_HALL,
        warn_within=THIRTY,
    )
    assert reading.state is ClockState.BREACHED
    assert reading.remaining == -minutes(120)


def test_states_from_a_stored_due_time() -> None:
    due_at = london(2026, 11, 23, 10)  # Monday

    def state_at(now: datetime) -> tuple[ClockState, timedelta]:
        reading = read_due(
            due_at=due_at, paused_at=None, now=now, calendar=TOWN_HALL, warn_within=THIRTY
        )
        return reading.state, reading.remaining

    assert state_at(london(2026, 11, 23, 9, 29)) == (ClockState.RUNNING, minutes(31))
    assert state_at(london(2026, 11, 23, 9, 30)) == (ClockState.WARNING, minutes(30))
    assert state_at(london(2026, 11, 23, 10)) == (ClockState.BREACHED, timedelta(0))
    assert state_at(london(2026, 11, 23, 10, 1)) == (ClockState.BREACHED, -minutes(1))
    # Time left is business time: Friday 16:45 has 15 minutes that day and 60 on Monday.
    assert state_at(london(2026, 11, 20, 16, 45)) == (ClockState.RUNNING, minutes(75))
    assert state_at(london(2026, 11, 21, 12)) == (ClockState.RUNNING, minutes(60))


def test_the_warning_time_is_counted_in_business_minutes_back_over_the_weekend() -> None:
    reading = read_due(
        due_at=london(2026, 11, 30, 9, 20),  # Monday
        paused_at=None,
        now=london(2026, 11, 27, 12),
        calendar=TOWN_HALL,
        warn_within=THIRTY,
    )
    assert reading.warn_at == london(2026, 11, 27, 16, 50)  # Friday
    assert reading.state is ClockState.RUNNING


def test_business_time_subtraction_keeps_local_hours_across_the_clock_change() -> None:
    # Monday 30 March 2026 (BST) 10:00 less 2 h → Friday 27 March (GMT) 16:00.
    assert subtract_business_time(london(2026, 3, 30, 10), minutes(120), TOWN_HALL) == london(
        2026, 3, 27, 16
    )


def test_a_paused_clock_reads_as_paused_from_its_stored_due_time() -> None:
    reading = read_due(
        due_at=london(2026, 11, 24, 10),
        paused_at=london(2026, 11, 23, 16),
        now=london(2026, 11, 26, 9),
        calendar=TOWN_HALL,
        warn_within=THIRTY,
    )
    assert reading == read_due(
        due_at=london(2026, 11, 24, 10),
        paused_at=london(2026, 11, 23, 16),
        now=london(2026, 11, 23, 16),
        calendar=TOWN_HALL,
        warn_within=THIRTY,
    )
    assert (reading.state, reading.due_at, reading.remaining) == (
        ClockState.PAUSED,
        None,
        minutes(120),
    )


def test_overlapping_and_early_pauses_are_merged_and_clipped() -> None:
    start = london(2026, 11, 23, 9)
    pauses = [
        Pause(london(2026, 11, 23, 11), london(2026, 11, 23, 12)),
        Pause(london(2026, 11, 20, 9), london(2026, 11, 23, 10)),  # began before the start
        Pause(london(2026, 11, 23, 11, 30), london(2026, 11, 23, 13)),
    ]
    assert counted_time(
        start=start, until=london(2026, 11, 23, 14), pauses=pauses, calendar=TOWN_HALL
    ) == minutes(120)
    due = due_time(start=start, target=minutes(180), pauses=pauses, calendar=TOWN_HALL)
    assert due.due_at == london(2026, 11, 23, 15)


def test_impossible_pauses_are_refused() -> None:
    start = london(2026, 11, 23, 9)
    with pytest.raises(ValueError, match="before it begins"):
        due_time(
            start=start,
            target=minutes(60),
            pauses=[Pause(london(2026, 11, 23, 12), london(2026, 11, 23, 11))],
            calendar=TOWN_HALL,
        )
    with pytest.raises(ValueError, match="ongoing pause"):
        due_time(
            start=start,
            target=minutes(60),
            pauses=[Pause(london(2026, 11, 23, 10)), Pause(london(2026, 11, 23, 11))],
            calendar=TOWN_HALL,
        )
    with pytest.raises(ValueError, match="before now"):
        read_clock(
            start=start,
            target=minutes(60),
            pauses=[Pause(london(2026, 11, 23, 12))],
            now=london(2026, 11, 23, 11),
            calendar=TOWN_HALL,
            warn_within=THIRTY,
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        due_time(
            start=start,
            target=minutes(60),
            pauses=[Pause(datetime(2026, 11, 23, 10))],
            calendar=TOWN_HALL,
        )


# --- properties -----------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2029, 12, 31), timezones=st.just(UTC)
)
targets = st.integers(min_value=1, max_value=60 * 8 * 15).map(minutes)
lengths = st.integers(min_value=0, max_value=60 * 24 * 10).map(minutes)
# Bank-holiday Mondays in England: a pause from the Friday before to the Tuesday after spans a
# weekend and a public holiday.
HOLIDAY_MONDAYS = sorted(
    day
    for day in BANK_HOLIDAYS
    if day.weekday() == 0 and date(2025, 1, 1) <= day < date(2030, 1, 1)
)
day_minutes = st.integers(min_value=0, max_value=24 * 60 - 1).map(minutes)


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LONDON)


@st.composite
def long_weekend_pauses(draw: st.DrawFn) -> Pause:
    monday = draw(st.sampled_from(HOLIDAY_MONDAYS))
    begins = _local_midnight(monday - timedelta(days=3)) + draw(day_minutes)
    ends = _local_midnight(monday + timedelta(days=1)) + draw(day_minutes)
    return Pause(begins.astimezone(UTC), ends.astimezone(UTC))


@settings(max_examples=150, deadline=None)
@given(pause=long_weekend_pauses(), lead=lengths, target=targets)
def test_a_pause_over_a_weekend_and_a_bank_holiday_moves_the_due_time_by_what_it_covered(
    pause: Pause, lead: timedelta, target: timedelta
) -> None:
    assert pause.ended_at is not None
    start = pause.started_at - lead
    plain = due_time(start=start, target=target, pauses=[], calendar=TOWN_HALL).due_at
    paused = due_time(start=start, target=target, pauses=[pause], calendar=TOWN_HALL).due_at
    assert plain is not None
    assert paused is not None
    assert paused >= plain
    if pause.started_at < plain:
        covered = business_time_between(pause.started_at, pause.ended_at, TOWN_HALL)
        assert paused == add_business_time(plain, covered, TOWN_HALL)
        assert business_time_between(plain, paused, TOWN_HALL) == covered
    else:
        assert paused == plain


@settings(max_examples=150, deadline=None)
@given(start=instants, target=targets, offset=lengths, length=lengths)
def test_a_pause_never_moves_the_due_time_earlier_and_shifts_it_by_exactly_what_it_covered(
    start: datetime, target: timedelta, offset: timedelta, length: timedelta
) -> None:
    pause = Pause(start + offset, start + offset + length)
    assert pause.ended_at is not None
    plain = due_time(start=start, target=target, pauses=[], calendar=TOWN_HALL).due_at
    paused = due_time(start=start, target=target, pauses=[pause], calendar=TOWN_HALL).due_at
    assert plain is not None
    assert paused is not None
    assert paused >= plain
    covered = business_time_between(pause.started_at, pause.ended_at, TOWN_HALL)
    if pause.started_at < plain:
        assert business_time_between(plain, paused, TOWN_HALL) == covered
    else:
        assert paused == plain
    # The step-by-step path (stored due time shifted on resume) agrees with the whole history.
    stepped = shift_due(
        due_at=plain, paused_at=pause.started_at, resumed_at=pause.ended_at, calendar=TOWN_HALL
    )
    assert stepped == paused


@settings(max_examples=100, deadline=None)
@given(
    week=st.integers(min_value=0, max_value=250),
    begins=st.integers(min_value=17 * 60, max_value=(24 + 24 + 24 + 9) * 60),
    length=st.integers(min_value=0, max_value=(24 + 24 + 24 + 9) * 60),
    lead=lengths,
    target=targets,
)
def test_a_pause_entirely_outside_business_hours_changes_nothing(
    week: int, begins: int, length: int, lead: timedelta, target: timedelta
) -> None:
    # Between Friday 17:00 and Monday 09:00 (local), whatever the clock change does.
    friday = date(2025, 1, 3) + timedelta(weeks=week)
    assume(friday + timedelta(days=3) not in BANK_HOLIDAYS and friday not in BANK_HOLIDAYS)
    monday_nine = _local_midnight(friday + timedelta(days=3)) + timedelta(hours=9)
    pause_start = _local_midnight(friday) + minutes(begins)
    pause_end = min(pause_start + minutes(length), monday_nine)
    assume(pause_start <= monday_nine)
    pause = Pause(pause_start.astimezone(UTC), pause_end.astimezone(UTC))
    start = pause.started_at - lead
    assert business_time_between(pause.started_at, pause_end, TOWN_HALL) == timedelta(0)
    plain = due_time(start=start, target=target, pauses=[], calendar=TOWN_HALL)
    paused = due_time(start=start, target=target, pauses=[pause], calendar=TOWN_HALL)
    assert paused.due_at == plain.due_at


@settings(max_examples=100, deadline=None)
@given(start=instants, target=targets, offset=lengths, length=lengths)
def test_resuming_restores_a_running_clock_with_the_time_left_when_it_paused(
    start: datetime, target: timedelta, offset: timedelta, length: timedelta
) -> None:
    paused_at, resumed_at = start + offset, start + offset + length
    before = read_clock(
        start=start,
        target=target,
        pauses=[],
        now=paused_at,
        calendar=TOWN_HALL,
        warn_within=THIRTY,
    )
    assume(before.state is not ClockState.BREACHED)
    during = read_clock(
        start=start,
        target=target,
        pauses=[Pause(paused_at)],
        now=resumed_at,
        calendar=TOWN_HALL,
        warn_within=THIRTY,
    )
    after = read_clock(
        start=start,
        target=target,
        pauses=[Pause(paused_at, resumed_at)],
        now=resumed_at,
        calendar=TOWN_HALL,
        warn_within=THIRTY,
    )
    assert during.state is ClockState.PAUSED
    assert during.remaining == before.remaining
    assert after.state is before.state
    assert after.state in (ClockState.RUNNING, ClockState.WARNING)
    assert after.remaining == before.remaining
    assert after.due_at is not None
    assert after.due_at >= resumed_at


@settings(max_examples=150, deadline=None)
@given(end=instants, duration=lengths)
def test_subtracting_business_time_is_the_mirror_of_adding_it(
    end: datetime, duration: timedelta
) -> None:
    begin = subtract_business_time(end, duration, TOWN_HALL)
    assert begin <= end
    assert business_time_between(begin, end, TOWN_HALL) == duration
