"""A case's columns as the plain values `sla.services` reads its clocks from. Reads only.

Shared by the clock services and the selectors (which cannot import the services package
without a cycle).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from civicdesk.cases.kernels.status import FINISHED
from civicdesk.cases.models import Case
from civicdesk.sla.services import ClockReview, Target, review_clocks

if TYPE_CHECKING:
    from datetime import datetime


def running_due_times(case: Case) -> dict[Target, datetime | None]:
    """The due times of the clocks still running: none once finished; no first response
    clock once someone answered."""
    if case.status_value in FINISHED:
        return {Target.FIRST_RESPONSE: None, Target.RESOLUTION: None}
    first = None if case.first_responded_at is not None else case.first_response_due_at
    return {Target.FIRST_RESPONSE: first, Target.RESOLUTION: case.resolution_due_at}


def review_case_clocks(case: Case, *, now: datetime) -> ClockReview:
    """The case's clocks at `now` and the escalations due (writes nothing; two queries)."""
    return review_clocks(
        policy_id=case.sla_policy_id,
        due_times=running_due_times(case),
        paused_at=case.sla_paused_at,
        escalated=case.sla_escalated,
        priority=case.priority,
        queue_id=case.queue_id,
        now=now,
    )
