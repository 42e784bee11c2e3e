"""What to do when a service-level clock warns or is breached. Pure.

A case has up to two clocks (first response, resolution). Each clock escalates at most once per
level: once when it enters its warning time, once when it is breached. A clock found already
breached whose warning never ran escalates for the breach only — a late warning helps nobody.
Which actions run at each level is the policy's (`EscalationPolicy`); what has already run is
the caller's record (`Marker`s), so calling again with the same record returns nothing new.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from civicdesk.sla.kernels.clocks import ClockReading, ClockState

# Lowest first; the same values as the platform's priorities.
PRIORITY_ORDER: tuple[str, ...] = ("low", "normal", "high", "urgent")
# `LevelRule.raise_priority` value meaning "one step higher than now".
ONE_STEP = "step"


class Target(StrEnum):
    FIRST_RESPONSE = "first_response"
    RESOLUTION = "resolution"


class Level(StrEnum):
    WARNING = "warning"
    BREACH = "breach"


class Action(StrEnum):
    NOTIFY_SUPERVISOR = "notify_supervisor"
    RAISE_PRIORITY = "raise_priority"
    REASSIGN = "reassign"


@dataclass(frozen=True)
class LevelRule:
    """The actions at one level. `raise_priority`: "" none, `ONE_STEP`, or a priority to raise
    to (never lowers). `reassign_to_queue_id`: a queue to move the case to, or None."""

    notify_supervisor: bool = False
    raise_priority: str = ""
    reassign_to_queue_id: int | None = None

    def __post_init__(self) -> None:
        if self.raise_priority not in ("", ONE_STEP, *PRIORITY_ORDER):
            raise ValueError(f"unknown priority change {self.raise_priority!r}")


@dataclass(frozen=True)
class EscalationPolicy:
    warn_within: timedelta = timedelta(minutes=30)
    warning: LevelRule = field(default_factory=LevelRule)
    breach: LevelRule = field(default_factory=LevelRule)

    def rule(self, level: Level) -> LevelRule:
        return self.warning if level is Level.WARNING else self.breach


@dataclass(frozen=True)
class Marker:
    """A level that has escalated for one clock. Stored by the caller, e.g. as `str(marker)`."""

    target: Target
    level: Level

    def __str__(self) -> str:
        return f"{self.target.value}:{self.level.value}"

    @classmethod
    def parse(cls, text: str) -> Marker:
        target, _, level = text.partition(":")
        return cls(Target(target), Level(level))


@dataclass(frozen=True)
class Step:
    """One action to apply. `priority` is the new priority (RAISE_PRIORITY); `queue_id` the new
    queue (REASSIGN)."""

    action: Action
    priority: str = ""
    queue_id: int | None = None


@dataclass(frozen=True)
class Escalation:
    """A clock reached a level: record `marker`, announce it, apply `steps` in order."""

    marker: Marker
    due_at: datetime | None
    remaining: timedelta
    steps: tuple[Step, ...]


def raised_priority(current: str, change: str) -> str:
    """The priority after `change`; never lower than `current`. An unknown current priority
    cannot move one step (it has no place in the order) and stays."""
    if not change:
        return current
    if current not in PRIORITY_ORDER:
        return change if change != ONE_STEP else current
    rank = PRIORITY_ORDER.index(current)
    if change == ONE_STEP:
        return PRIORITY_ORDER[min(rank + 1, len(PRIORITY_ORDER) - 1)]
    return PRIORITY_ORDER[max(rank, PRIORITY_ORDER.index(change))]


def _level_reached(reading: ClockReading) -> Level | None:
    if reading.state is ClockState.BREACHED:
        return Level.BREACH
    if reading.state is ClockState.WARNING:
        return Level.WARNING
    return None


def decide_escalations(
    *,
    readings: Mapping[Target, ClockReading],
    done: Collection[Marker],
    policy: EscalationPolicy,
    priority: str,
    queue_id: int | None,
) -> list[Escalation]:
    """The escalations due now, first-response clock first.

    `priority` and `queue_id` are the case's now; steps that would change nothing (already that
    priority, already in that queue) are left out, and a priority raised by one escalation is
    the starting point of the next.
    """
    escalations: list[Escalation] = []
    for target in Target:
        reading = readings.get(target)
        if reading is None:
            continue
        level = _level_reached(reading)
        if level is None or Marker(target, Level.BREACH) in done:
            continue
        marker = Marker(target, level)
        if marker in done:
            continue
        rule = policy.rule(level)
        steps: list[Step] = []
        new_priority = raised_priority(priority, rule.raise_priority)
        if new_priority != priority:
            steps.append(Step(Action.RAISE_PRIORITY, priority=new_priority))
            priority = new_priority
        if rule.reassign_to_queue_id is not None and rule.reassign_to_queue_id != queue_id:
            steps.append(Step(Action.REASSIGN, queue_id=rule.reassign_to_queue_id))
            queue_id = rule.reassign_to_queue_id
        if rule.notify_supervisor:
            steps.append(Step(Action.NOTIFY_SUPERVISOR))
        escalations.append(Escalation(marker, reading.due_at, reading.remaining, tuple(steps)))
    return escalations


def next_check_at(
    *, readings: Mapping[Target, ClockReading], done: Collection[Marker]
) -> datetime | None:
    """The earliest instant at which a clock can next escalate; None when none can (all paused,
    or every level already done). Store it on the case so the periodic job finds it by index."""
    instants: list[datetime] = []
    for target, reading in readings.items():
        if reading.due_at is None or Marker(target, Level.BREACH) in done:
            continue
        if Marker(target, Level.WARNING) in done or reading.warn_at is None:
            instants.append(reading.due_at)
        else:
            instants.append(min(reading.warn_at, reading.due_at))
    return min(instants, default=None)
