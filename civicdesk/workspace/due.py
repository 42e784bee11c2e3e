"""How a service-level due time reads to an agent: pure, `now` passed in.

The inbox and the case page say "Overdue" / "Due soon" / "Met" / "Missed" in words, so the state
never rests on colour alone. "Due soon" is a display choice, not a service level: one hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

DUE_SOON = timedelta(hours=1)


class DueState(StrEnum):
    NONE = "none"  # no target
    ON_TRACK = "on-track"
    DUE_SOON = "due-soon"
    OVERDUE = "overdue"
    MET = "met"
    MISSED = "missed"


LABELS = {
    DueState.NONE: "",
    DueState.ON_TRACK: "",
    DueState.DUE_SOON: "Due soon",
    DueState.OVERDUE: "Overdue",
    DueState.MET: "Met",
    DueState.MISSED: "Missed",
}


@dataclass(frozen=True)
class Due:
    state: DueState
    due_at: datetime | None

    @property
    def label(self) -> str:
        return LABELS[self.state]


def due_state(*, due_at: datetime | None, done_at: datetime | None, now: datetime) -> Due:
    """The state of one target; `done_at` is when it was met (first reply, resolution)."""
    if due_at is None:
        return Due(DueState.NONE, None)
    if done_at is not None:
        return Due(DueState.MET if done_at <= due_at else DueState.MISSED, due_at)
    if due_at <= now:
        return Due(DueState.OVERDUE, due_at)
    if due_at - now <= DUE_SOON:
        return Due(DueState.DUE_SOON, due_at)
    return Due(DueState.ON_TRACK, due_at)
