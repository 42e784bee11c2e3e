"""Opening a case: referenced, routed to a queue and an agent, with service-level targets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from civicdesk.cases.events import CaseAssigned, CaseClassified, CaseOpened
from civicdesk.cases.models import Case
from civicdesk.cases.services.references import next_reference
from civicdesk.cases.services.sla_clock import schedule_check
from civicdesk.cases.services.timeline import add_entries, announce, build_entry, case_state
from civicdesk.core.clock import now
from civicdesk.core.limits import SUBJECT_MAX_LENGTH
from civicdesk.core.priority import Priority
from civicdesk.core.savepoints import atomic_within_savepoint
from civicdesk.core.tokens import digest, new_token
from civicdesk.routing.services import route_new_case
from civicdesk.sla.services import compute_targets

if TYPE_CHECKING:
    from datetime import datetime

    from civicdesk.cases.models import CaseEvent
    from civicdesk.catalogue.models import Service
    from civicdesk.citizens.models import Citizen


def _apply_sla(case: Case, *, start: datetime) -> None:
    targets = compute_targets(
        policy_id=case.service.sla_policy_id if case.service else None,
        priority=case.priority,
        start=start,
    )
    if targets is None:
        return
    case.sla_policy_id = targets.policy_id
    case.sla_policy_name = targets.policy_name
    case.first_response_due_at = targets.first_response_due_at
    case.resolution_due_at = targets.resolution_due_at
    case.sla_due_at = targets.first_response_due_at


def _route_entry(case: Case, *, at: datetime) -> CaseEvent | None:
    if case.queue is None:
        return None
    assignee = case.assignee
    event = CaseAssigned(
        **case_state(case),
        to=assignee.get_full_name() if assignee else "",
        to_id=assignee.pk if assignee else None,
        queue=case.queue.name,
        automatic=True,
        waiting=assignee is None,
    )
    return build_entry(case=case, event=event, at=at)


@atomic_within_savepoint
def open_case(
    *,
    citizen: Citizen,
    channel: str,
    subject: str,
    service: Service | None,
    answers: dict[str, Any] | None = None,
    priority: str = "",
    language: str = "",
    opened_at: datetime | None = None,
    classified_by: str = "",
    status_token_digest: str = "",
    reference: str = "",
    channel_account_id: int | None = None,
    channel_identity: str = "",
) -> Case:
    """A new case: referenced, routed to a queue and an agent, with service-level targets.

    `status_token_digest` is the digest of the private link the citizen was given (the portal
    makes it); without one the case gets a link nobody knows until `issue_status_token`.
    Writes the case and up to three timeline entries (opened, classified, assigned; one INSERT);
    publishes
    one `CaseOpened`. `reference`: the one the contact was given when it was acknowledged
    (see `next_reference`); without one, the next is taken now. `channel_account_id` and
    `channel_identity`: where replies go (the account and address the citizen wrote from).
    """
    at = opened_at or now()
    case = Case(
        reference=reference or next_reference(at=at),
        status_token_digest=status_token_digest or digest(new_token(24)),
        citizen=citizen,
        channel=channel,
        subject=subject[:SUBJECT_MAX_LENGTH],
        service=service,
        answers=answers or {},
        priority=priority or (service.default_priority if service else Priority.NORMAL),
        language=language or citizen.preferred_language,
        classified_by=classified_by,
        last_activity_at=at,
        channel_account_id=channel_account_id,
        channel_identity=channel_identity,
    )
    _apply_sla(case, start=at)
    route = route_new_case(service=service)
    case.queue, case.assignee = route.queue, route.assignee
    schedule_check(case, at=at)
    case.save()
    opened = CaseOpened(
        **case_state(case), channel=channel, service=service.name if service else ""
    )
    entries = [build_entry(case=case, event=opened, at=at, channel=channel)]
    if classified_by:
        classified = CaseClassified(**case_state(case), by=classified_by)
        entries.append(build_entry(case=case, event=classified, at=at))
    route_entry = _route_entry(case, at=at)
    if route_entry is not None:
        entries.append(route_entry)
    add_entries(entries)  # one INSERT for the two or three entries
    announce(opened)
    return case
