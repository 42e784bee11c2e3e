from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from civicdesk.sla.kernels.business_time import BusinessCalendar
from civicdesk.sla.kernels.clocks import ClockReading, ClockState, read_due
from civicdesk.sla.kernels.escalation import (
    ONE_STEP,
    Action,
    Escalation,
    EscalationPolicy,
    Level,
    LevelRule,
    Marker,
    Step,
    Target,
    decide_escalations,
    next_check_at,
    raised_priority,
)

LONDON = ZoneInfo("Europe/London")
OFFICE = BusinessCalendar("Europe/London", dict.fromkeys(range(5), ((9 * 60, 17 * 60),)))
POLICY = EscalationPolicy(
    warn_within=timedelta(minutes=30),
    warning=LevelRule(notify_supervisor=True),
    breach=LevelRule(notify_supervisor=True, raise_priority=ONE_STEP, reassign_to_queue_id=7),
)
DUE = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)  # Monday 10:00


def reading_at(now: datetime, *, due_at: datetime = DUE) -> ClockReading:
    return read_due(
        due_at=due_at, paused_at=None, now=now, calendar=OFFICE, warn_within=POLICY.warn_within
    )


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=LONDON)


def test_breach_escalation_with_a_frozen_clock() -> None:
    done: set[Marker] = set()

    def tick(now: datetime) -> list[Escalation]:
        escalations = decide_escalations(
            readings={Target.FIRST_RESPONSE: reading_at(now)},
            done=done,
            policy=POLICY,
            priority="normal",
            queue_id=3,
        )
        done.update(escalation.marker for escalation in escalations)
        return escalations

    assert tick(at(9, 15)) == []
    warning = Escalation(
        Marker(Target.FIRST_RESPONSE, Level.WARNING),
        DUE.astimezone(UTC),
        timedelta(minutes=15),
        (Step(Action.NOTIFY_SUPERVISOR),),
    )
    assert tick(at(9, 45)) == [warning]
    assert tick(at(9, 50)) == []
    breach = Escalation(
        Marker(Target.FIRST_RESPONSE, Level.BREACH),
        DUE.astimezone(UTC),
        timedelta(minutes=-1),
        (
            Step(Action.RAISE_PRIORITY, priority="high"),
            Step(Action.REASSIGN, queue_id=7),
            Step(Action.NOTIFY_SUPERVISOR),
        ),
    )
    assert tick(at(10, 1)) == [breach]
    assert tick(at(10, 1)) == []
    assert tick(at(16, 0)) == []
    assert done == {
        Marker(Target.FIRST_RESPONSE, Level.WARNING),
        Marker(Target.FIRST_RESPONSE, Level.BREACH),
    }


def test_a_clock_found_already_breached_skips_its_warning() -> None:
    escalations = decide_escalations(
        readings={Target.FIRST_RESPONSE: reading_at(at(11, 0))},
        done=set(),
        policy=POLICY,
        priority="normal",
        queue_id=3,
    )
    assert [escalation.marker for escalation in escalations] == [
        Marker(Target.FIRST_RESPONSE, Level.BREACH)
    ]
    # The warning never comes later either.
    assert (
        decide_escalations(
            readings={Target.FIRST_RESPONSE: reading_at(at(11, 0))},
            done={escalations[0].marker},
            policy=POLICY,
            priority="high",
            queue_id=7,
        )
        == []
    )


def test_each_clock_escalates_once_and_priority_raises_accumulate() -> None:
    readings = {
        Target.FIRST_RESPONSE: reading_at(at(12, 0)),
        Target.RESOLUTION: reading_at(at(12, 0), due_at=at(11, 0)),
    }
    escalations = decide_escalations(
        readings=readings, done=set(), policy=POLICY, priority="normal", queue_id=3
    )
    assert [(str(e.marker), e.steps) for e in escalations] == [
        (
            "first_response:breach",
            (
                Step(Action.RAISE_PRIORITY, priority="high"),
                Step(Action.REASSIGN, queue_id=7),
                Step(Action.NOTIFY_SUPERVISOR),
            ),
        ),
        # Already in queue 7 after the first: only the priority moves on, and the supervisor.
        (
            "resolution:breach",
            (Step(Action.RAISE_PRIORITY, priority="urgent"), Step(Action.NOTIFY_SUPERVISOR)),
        ),
    ]


def test_a_paused_or_running_clock_does_not_escalate() -> None:
    paused = read_due(
        due_at=DUE,
        paused_at=at(9, 0),
        now=at(12, 0),
        calendar=OFFICE,
        warn_within=POLICY.warn_within,
    )
    assert paused.state is ClockState.PAUSED
    readings = {Target.FIRST_RESPONSE: paused, Target.RESOLUTION: reading_at(at(9, 0))}
    assert (
        decide_escalations(
            readings=readings, done=set(), policy=POLICY, priority="normal", queue_id=3
        )
        == []
    )
    # Paused clocks have nothing to check; the running one next warns at 09:30.
    assert next_check_at(readings=readings, done=set()) == at(9, 30).astimezone(UTC)


def test_a_level_without_actions_still_escalates_once_to_be_recorded_and_shown() -> None:
    escalations = decide_escalations(
        readings={Target.RESOLUTION: reading_at(at(9, 40))},
        done=set(),
        policy=EscalationPolicy(),
        priority="urgent",
        queue_id=None,
    )
    assert escalations == [
        Escalation(
            Marker(Target.RESOLUTION, Level.WARNING),
            DUE.astimezone(UTC),
            timedelta(minutes=20),
            (),
        )
    ]


def test_the_next_check_is_the_warning_then_the_due_time_then_nothing() -> None:
    readings = {Target.FIRST_RESPONSE: reading_at(at(9, 0))}
    warned = {Marker(Target.FIRST_RESPONSE, Level.WARNING)}
    breached = warned | {Marker(Target.FIRST_RESPONSE, Level.BREACH)}
    assert next_check_at(readings=readings, done=set()) == at(9, 30).astimezone(UTC)
    assert next_check_at(readings=readings, done=warned) == DUE.astimezone(UTC)
    assert next_check_at(readings=readings, done=breached) is None


@pytest.mark.parametrize(
    ("current", "change", "expected"),
    [
        ("low", ONE_STEP, "normal"),
        ("high", ONE_STEP, "urgent"),
        ("urgent", ONE_STEP, "urgent"),
        ("low", "high", "high"),
        ("urgent", "high", "urgent"),  # never lowers
        ("normal", "", "normal"),
        ("", ONE_STEP, ""),  # no place in the order: left alone
        ("", "high", "high"),
    ],
)
def test_raised_priority(current: str, change: str, expected: str) -> None:
    assert raised_priority(current, change) == expected


def test_markers_round_trip_through_their_text_and_bad_rules_are_refused() -> None:
    marker = Marker(Target.RESOLUTION, Level.BREACH)
    assert str(marker) == "resolution:breach"
    assert Marker.parse("resolution:breach") == marker
    with pytest.raises(ValueError, match="not a valid Level"):
        Marker.parse("resolution:late")
    with pytest.raises(ValueError, match="unknown priority change"):
        LevelRule(raise_priority="critical")
