"""Service-level escalation: the periodic job's one service.

Each case stores when its clocks can next warn or breach (`sla_check_at`, indexed). Every run
takes the cases whose check is due, oldest first and at most `ESCALATION_BATCH`, and under each
case's row lock reviews its clocks (`sla.services.review_clocks`), records each escalation's
marker on the case (so a second run does nothing twice), writes a `SlaWarned` / `SlaBreached`
timeline entry, applies the policy's steps (raise priority, move to a queue and its next agent,
tell the supervisors live) and stores the next check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from civicdesk.accounts.selectors import supervisor_ids_of_teams
from civicdesk.cases.clock_reading import review_case_clocks
from civicdesk.cases.events import CaseAssigned, SlaBreached, SlaWarned
from civicdesk.cases.kernels.status import FINISHED
from civicdesk.cases.models import Case
from civicdesk.cases.services.status import lock_case, sla_due
from civicdesk.cases.services.timeline import add_entry, case_state
from civicdesk.core.clock import now as clock_now
from civicdesk.realtime.publish import WORKSPACE_GROUP, publish, user_group
from civicdesk.routing.selectors import queue_by_id
from civicdesk.routing.services import next_agent_for
from civicdesk.sla.services import Action, Escalation, Level

if TYPE_CHECKING:
    from datetime import datetime

# Cases reviewed per run; the rest wait for the next minute's run (oldest check first).
ESCALATION_BATCH = 200


def escalate_due_cases(*, now: datetime | None = None, limit: int = ESCALATION_BATCH) -> int:
    """Escalate the cases whose check is due at `now` (default: the clock); answers how many
    escalations ran. Idempotent: a case whose markers are recorded escalates nothing again.

    Cost: one indexed query for the batch, then per case one transaction with a row lock,
    two policy queries and a few writes per escalation.
    """
    at = now or clock_now()
    due_ids = list(
        Case.objects.filter(sla_check_at__lte=at, sla_paused_at__isnull=True)
        .exclude(status__in=[status.value for status in FINISHED])
        .order_by("sla_check_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(_escalate_case(case_id=case_id, now=at) for case_id in due_ids)


@transaction.atomic
def _escalate_case(*, case_id: int, now: datetime) -> int:
    case = Case.objects.select_related("queue").get(pk=case_id)
    lock_case(case)
    # Another run, a reply or a status change may have got there first.
    if case.status_value in FINISHED or case.sla_paused_at is not None:
        return 0
    if case.sla_check_at is None or case.sla_check_at > now:
        return 0
    review = review_case_clocks(case, now=now)
    update = ["sla_escalated", "sla_check_at", "updated_at"]
    for escalation in review.escalations:
        update += _apply(case, escalation, now=now)
    case.sla_check_at = review.next_check_at
    case.save(update_fields=sorted(set(update)))
    return len(review.escalations)


def _apply(case: Case, escalation: Escalation, *, now: datetime) -> list[str]:
    """Record one escalation on the case and apply its steps; returns the fields changed."""
    case.sla_escalated = [*case.sla_escalated, str(escalation.marker)]
    changed: list[str] = []
    team_ids = [case.queue.team_id] if case.queue is not None else []
    notify = False
    reassigned = False
    for step in escalation.steps:
        if step.action is Action.RAISE_PRIORITY:
            # Targets are not recomputed: the raise is to get the case seen, not to move goals.
            case.priority = step.priority
            changed.append("priority")
        elif step.action is Action.REASSIGN and step.queue_id is not None:
            queue = queue_by_id(queue_id=step.queue_id)
            if queue is None:
                continue
            case.queue = queue
            case.assignee = next_agent_for(queue=queue)
            team_ids.append(queue.team_id)
            changed += ["queue", "assignee"]
            reassigned = True
        elif step.action is Action.NOTIFY_SUPERVISOR:
            notify = True
    notified = supervisor_ids_of_teams(team_ids=team_ids) if notify else []
    cls = SlaWarned if escalation.marker.level is Level.WARNING else SlaBreached
    event = cls(
        **case_state(case),
        target=escalation.marker.target.value,
        due_at=escalation.due_at.isoformat() if escalation.due_at else "",
        remaining_minutes=int(escalation.remaining.total_seconds() // 60),
        actions=tuple(step.action.value for step in escalation.steps),
        notified_ids=tuple(notified),
    )
    add_entry(case=case, event=event, at=now)
    if reassigned:
        assignee = case.assignee
        add_entry(
            case=case,
            event=CaseAssigned(
                **case_state(case),
                to=assignee.get_full_name() if assignee else "",
                to_id=assignee.pk if assignee else None,
                queue=case.queue.name if case.queue else "",
                automatic=True,
                waiting=assignee is None,
            ),
            at=now,
        )
    publish(event, groups=[WORKSPACE_GROUP, *(user_group(pk) for pk in notified)])
    case.sla_due_at = sla_due(case)
    return [*changed, "sla_due_at"]
