"""The case status workflow as an explicit transition table. Pure."""

from __future__ import annotations

from enum import StrEnum


class CaseStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    WAITING = "waiting"  # waiting on the citizen
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.NEW: frozenset(
        {CaseStatus.OPEN, CaseStatus.WAITING, CaseStatus.RESOLVED, CaseStatus.CLOSED}
    ),
    CaseStatus.OPEN: frozenset({CaseStatus.WAITING, CaseStatus.RESOLVED, CaseStatus.CLOSED}),
    CaseStatus.WAITING: frozenset({CaseStatus.OPEN, CaseStatus.RESOLVED, CaseStatus.CLOSED}),
    CaseStatus.RESOLVED: frozenset({CaseStatus.CLOSED, CaseStatus.REOPENED}),
    CaseStatus.CLOSED: frozenset({CaseStatus.REOPENED}),
    CaseStatus.REOPENED: frozenset(
        {CaseStatus.OPEN, CaseStatus.WAITING, CaseStatus.RESOLVED, CaseStatus.CLOSED}
    ),
}

# Statuses in which new contact from the citizen joins the case rather than opening another.
ACCEPTS_CONTACT = frozenset(set(CaseStatus) - {CaseStatus.CLOSED})
# Statuses that count as finished for service levels and inbox views.
FINISHED = frozenset({CaseStatus.RESOLVED, CaseStatus.CLOSED})


class InvalidTransition(ValueError):
    pass


def can_transition(current: CaseStatus, target: CaseStatus) -> bool:
    return target in TRANSITIONS[current]


def allowed_targets(current: CaseStatus) -> list[CaseStatus]:
    return [status for status in CaseStatus if status in TRANSITIONS[current]]


def check_transition(current: CaseStatus, target: CaseStatus) -> None:
    if not can_transition(current, target):
        raise InvalidTransition(f"A case cannot go from {current.value} to {target.value}")


def status_after_citizen_contact(current: CaseStatus) -> CaseStatus:
    """A citizen wrote again: a resolved case reopens, a waiting one opens; others stay. (A
    closed case reopens too, when the intake lets contact join it: within the reopen window.)"""
    if current in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        return CaseStatus.REOPENED
    if current is CaseStatus.WAITING:
        return CaseStatus.OPEN
    return current


def status_after_agent_reply(current: CaseStatus) -> CaseStatus:
    """An agent answered: a new or reopened case is now being worked on."""
    if current in (CaseStatus.NEW, CaseStatus.REOPENED):
        return CaseStatus.OPEN
    return current
