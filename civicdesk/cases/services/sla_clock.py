"""A case's service-level clocks: pausing while it waits on the citizen, resuming, next check.

The arithmetic and decisions are `sla.services`' (plain values in, plain values out); this
module maps a case's columns to those values and back. Callers are the status, message and
opening services, which save the fields returned and hold the case's row lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from civicdesk.cases.clock_reading import review_case_clocks, running_due_times
from civicdesk.cases.events import SlaClockPaused, SlaClockResumed
from civicdesk.cases.kernels.status import FINISHED, CaseStatus
from civicdesk.cases.models import Case
from civicdesk.cases.services.timeline import add_entry, announce, case_state
from civicdesk.sla.services import Marker, Target, resume_due_times

if TYPE_CHECKING:
    from datetime import datetime

# Fields the functions below may change, for the callers' `save(update_fields=…)`.
CLOCK_FIELDS = [
    "sla_paused_at",
    "sla_check_at",
    "sla_escalated",
    "first_response_due_at",
    "resolution_due_at",
    "sla_due_at",
]


def schedule_check(case: Case, *, at: datetime) -> None:
    """Set `sla_check_at`: when the escalation job should next look at the case.

    None while paused or finished. If something is already due at `at`, the check is `at`,
    so the job's next run escalates it. Cost: `review_case_clocks`.
    """
    if case.status_value in FINISHED or case.sla_paused_at is not None:
        case.sla_check_at = None
        return
    review = review_case_clocks(case, now=at)
    case.sla_check_at = at if review.escalations else review.next_check_at


def pause_clock(case: Case, *, at: datetime) -> None:
    """The case now waits on the citizen: its clocks stop (`SlaClockPaused` is recorded by
    `record_clock_change`); a clock already paused stays paused from when it began."""
    if case.sla_paused_at is not None:
        return
    case.sla_paused_at = at
    case.sla_due_at = None
    case.sla_check_at = None


def resume_clock(case: Case, *, at: datetime) -> None:
    """The wait ended at `at`: each due time moves later by the business time the pause
    covered (a missed target stays missed). Precondition: the status has its new value; the
    caller recomputes `sla_due_at` and then calls `schedule_check`. `SlaClockResumed` is
    recorded by `record_clock_change`. Cost: one policy query and a calendar walk per due time."""
    paused_at = case.sla_paused_at
    if paused_at is None:
        return
    shifted = resume_due_times(
        policy_id=case.sla_policy_id,
        due_times={
            Target.FIRST_RESPONSE: case.first_response_due_at,
            Target.RESOLUTION: case.resolution_due_at,
        },
        paused_at=paused_at,
        # History written out of order (imports, the demo's backdating) may stamp the reply
        # before the pause: it then covered no time and shifts nothing.
        resumed_at=max(at, paused_at),
    )
    case.first_response_due_at = shifted[Target.FIRST_RESPONSE]
    case.resolution_due_at = shifted[Target.RESOLUTION]
    case.sla_paused_at = None


def record_clock_change(case: Case, *, previous: str, at: datetime) -> None:
    """After a move's `StatusChanged` entry: `SlaClockPaused` when the case began waiting on
    the citizen, `SlaClockResumed` (with the next due time) when the wait ended. Publishes
    each after commit."""
    waiting = CaseStatus.WAITING.value
    if case.status == waiting and previous != waiting:
        event: SlaClockPaused | SlaClockResumed = SlaClockPaused(**case_state(case))
    elif previous == waiting and case.status != waiting:
        running = running_due_times(case)
        due = running[Target.FIRST_RESPONSE] or running[Target.RESOLUTION]
        event = SlaClockResumed(**case_state(case), due_at=due.isoformat() if due else "")
    else:
        return
    add_entry(case=case, event=event, at=at)
    announce(event)


def forget_resolution_escalations(case: Case) -> None:
    """A reopened case has a fresh resolution target: its old warnings and breach no longer
    count."""
    case.sla_escalated = [
        text for text in case.sla_escalated if Marker.parse(text).target is not Target.RESOLUTION
    ]
