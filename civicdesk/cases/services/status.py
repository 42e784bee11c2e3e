"""Moving a case along its workflow, with the service-level consequences of each move."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from civicdesk.cases.events import StatusChanged
from civicdesk.cases.kernels.status import FINISHED, CaseStatus, InvalidTransition, check_transition
from civicdesk.cases.models import Case
from civicdesk.cases.services.notifications import notify_status_change
from civicdesk.cases.services.sla_clock import (
    CLOCK_FIELDS,
    forget_resolution_escalations,
    pause_clock,
    record_clock_change,
    resume_clock,
    schedule_check,
)
from civicdesk.cases.services.timeline import add_entry, announce, case_state
from civicdesk.core.clock import now
from civicdesk.core.errors import DomainError
from civicdesk.sla.services import compute_targets

if TYPE_CHECKING:
    from datetime import datetime

    from civicdesk.accounts.models import User


@dataclass(frozen=True)
class StatusOutcome:
    """What `change_case_status` did: the case (saved) and the move it made."""

    case: Case
    previous: str
    status: str


def lock_case(case: Case) -> None:
    """Re-read the case under a row lock, so that checks and writes see its latest state.

    Two agents (or an agent and the citizen) acting at once then take turns instead of one
    silently undoing the other. Precondition: inside a transaction. Cost: one SELECT … FOR
    UPDATE and one re-read.
    """
    Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True).get()
    case.refresh_from_db()


def sla_due(case: Case) -> datetime | None:
    """The next target the case can still meet or miss; none once it is finished."""
    if case.status_value in FINISHED:
        return None
    if case.first_responded_at is None:
        return case.first_response_due_at
    return case.resolution_due_at


def set_status(case: Case, target: CaseStatus, *, at: datetime) -> list[str]:
    """Move the case to `target` in memory, with its service-level consequences.

    A finished case stops its clocks; a reopened one gets a fresh resolution target from the
    moment it came back. Waiting on the citizen pauses the clocks (`SlaClockPaused`); leaving
    the wait resumes them with due times moved by the business time it covered
    (`SlaClockResumed`), and the next escalation check is scheduled. Returns the fields
    changed, for the caller's save; the caller records the `StatusChanged` entry (see
    `record_status_change`) once the case is in its final state.
    """
    was_waiting = case.status_value is CaseStatus.WAITING
    case.status = target.value
    if target in FINISHED:
        case.resolved_at = case.resolved_at or at
    else:
        case.resolved_at = None
    if was_waiting and target is not CaseStatus.WAITING:
        resume_clock(case, at=at)
    if target is CaseStatus.REOPENED:
        targets = compute_targets(policy_id=case.sla_policy_id, priority=case.priority, start=at)
        if targets is not None:
            case.resolution_due_at = targets.resolution_due_at
        forget_resolution_escalations(case)
    case.sla_due_at = sla_due(case)
    if target is CaseStatus.WAITING:
        pause_clock(case, at=at)
    else:
        schedule_check(case, at=at)
    return ["status", "resolved_at", *CLOCK_FIELDS]


def record_status_change(
    case: Case, *, previous: str, at: datetime, by: User | None = None, automatic: bool = False
) -> StatusChanged:
    """The timeline entry of a move `set_status` made; returns its event."""
    event = StatusChanged(**case_state(case), previous=previous, automatic=automatic)
    add_entry(case=case, event=event, at=at, author=by)
    record_clock_change(case, previous=previous, at=at)
    return event


@transaction.atomic
def change_case_status(
    *, case: Case, status: str, by: User, at: datetime | None = None
) -> StatusOutcome:
    """Move the case along the workflow; a move the table does not allow changes nothing.
    The citizen is told, on their channel when it sends messages (`notify_status_change`).

    `at` is when the move happened (default: now); imports and tests pass it."""
    lock_case(case)
    try:
        target = CaseStatus(status)
        check_transition(case.status_value, target)
    except ValueError as exc:
        message = str(exc) if isinstance(exc, InvalidTransition) else f"Unknown status {status!r}"
        raise DomainError(message) from exc
    at = at or now()
    previous = case.status
    update = ["updated_at", "last_activity_at", *set_status(case, target, at=at)]
    case.last_activity_at = at
    case.save(update_fields=update)
    announce(record_status_change(case, previous=previous, at=at, by=by))
    notify_status_change(case)
    return StatusOutcome(case=case, previous=previous, status=case.status)
