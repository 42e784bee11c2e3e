from __future__ import annotations

from datetime import UTC, datetime, timedelta

from civicdesk.workspace.due import DueState, due_state

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_no_target_has_no_state() -> None:
    assert due_state(due_at=None, done_at=None, now=NOW).state is DueState.NONE


def test_a_past_due_time_not_met_is_overdue() -> None:
    due = due_state(due_at=NOW - timedelta(minutes=1), done_at=None, now=NOW)
    assert (due.state, due.label) == (DueState.OVERDUE, "Overdue")


def test_within_the_hour_is_due_soon_and_beyond_is_on_track() -> None:
    soon = due_state(due_at=NOW + timedelta(minutes=60), done_at=None, now=NOW)
    later = due_state(due_at=NOW + timedelta(minutes=61), done_at=None, now=NOW)
    assert (soon.state, soon.label) == (DueState.DUE_SOON, "Due soon")
    assert (later.state, later.label) == (DueState.ON_TRACK, "")


def test_a_target_done_in_time_is_met_and_late_is_missed() -> None:
    due_at = NOW - timedelta(hours=1)
    met = due_state(due_at=due_at, done_at=due_at, now=NOW)
    missed = due_state(due_at=due_at, done_at=due_at + timedelta(seconds=1), now=NOW)
    assert (met.state, met.label) == (DueState.MET, "Met")
    assert (missed.state, missed.label) == (DueState.MISSED, "Missed")
