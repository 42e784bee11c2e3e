"""Who works on a case: assignment by a colleague, and hand-out of waiting cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction

from civicdesk.accounts.services import set_availability
from civicdesk.cases.events import CaseAssigned
from civicdesk.cases.kernels.status import CaseStatus
from civicdesk.cases.models import Case
from civicdesk.cases.services.status import lock_case
from civicdesk.cases.services.timeline import add_entry, announce, case_state
from civicdesk.core.errors import DomainError
from civicdesk.routing.selectors import waiting_order, waits_for_assignment_filter
from civicdesk.routing.services import next_agent_for

if TYPE_CHECKING:
    from civicdesk.accounts.models import User
    from civicdesk.routing.models import Queue


@dataclass(frozen=True)
class AssignmentOutcome:
    """What `assign_case` did. `changed` is False when the case already stood so."""

    case: Case
    assignee_name: str  # "" for nobody
    queue_name: str  # "" for no queue
    changed: bool


@transaction.atomic
def assign_case(
    *, case: Case, assignee: User | None, by: User, queue: Queue | None = None
) -> AssignmentOutcome:
    """Give the case to a colleague (or nobody), optionally moving it to another queue."""
    if assignee is not None and not assignee.is_active:
        raise DomainError(f"{assignee} is not an active member of staff.")
    lock_case(case)
    previous = case.assignee
    previous_queue = case.queue
    case.assignee = assignee
    if queue is not None:
        case.queue = queue
    changed = previous != case.assignee or previous_queue != case.queue
    if changed:
        event = CaseAssigned(
            **case_state(case),
            previous=previous.get_full_name() if previous else "",
            to=assignee.get_full_name() if assignee else "",
            to_id=assignee.pk if assignee else None,
            queue=case.queue.name if case.queue else "",
        )
        add_entry(case=case, event=event, author=by)
        case.save(update_fields=["assignee", "queue", "updated_at"])
        announce(event)
    return AssignmentOutcome(
        case=case,
        assignee_name=case.assignee.get_full_name() if case.assignee else "",
        queue_name=case.queue.name if case.queue else "",
        changed=changed,
    )


@transaction.atomic
def set_agent_available(*, agent: User, is_available: bool) -> int:
    """Change an agent's presence; becoming available hands out waiting cases in turn.

    Waiting cases of the agent's teams go, soonest due first, to whoever is next in each
    queue's rota (the agent included). Returns how many of them went to this agent.
    """
    set_availability(agent=agent, is_available=is_available)
    if not is_available:
        return 0
    waiting = (
        Case.objects.select_for_update(of=("self",))
        .filter(**waits_for_assignment_filter(agent_id=agent.pk))
        .exclude(status__in=[CaseStatus.RESOLVED, CaseStatus.CLOSED])
        .select_related("queue")
        .order_by(*waiting_order())
    )
    to_this_agent = 0
    for case in waiting:
        chosen = next_agent_for(queue=case.queue) if case.queue else None
        if chosen is None:
            continue  # nobody free in that queue's team; other queues may still have someone
        case.assignee = chosen
        case.save(update_fields=["assignee", "updated_at"])
        event = CaseAssigned(
            **case_state(case),
            to=chosen.get_full_name(),
            to_id=chosen.pk,
            queue=case.queue.name if case.queue else "",
            automatic=True,
        )
        add_entry(case=case, event=event)
        announce(event)
        to_this_agent += chosen.pk == agent.pk
    return to_this_agent
