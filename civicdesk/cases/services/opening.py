"""Opening a case: referenced, routed to a queue and an agent, with service-level targets."""

from __future__ import annotations

from dataclasses import dataclass
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
from civicdesk.routing.services import Route, route_new_case
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


@dataclass(frozen=True)
class NewCase:
    """What a new case needs besides its citizen (see `open_case`)."""

    channel: str
    subject: str
    service: Service | None
    answers: dict[str, Any] | None = None
    priority: str = ""
    language: str = ""
    opened_at: datetime | None = None
    classified_by: str = ""
    status_token_digest: str = ""
    reference: str = ""
    channel_account_id: int | None = None
    channel_identity: str = ""


def prepare_case(citizen: Citizen, new: NewCase, *, route: Route | None = None) -> Case:
    """The new case in memory, not saved: referenced, with its service-level targets, routed
    (`route` decided already, or now) and its next check scheduled."""
    at = new.opened_at or now()
    service = new.service
    case = Case(
        reference=new.reference or next_reference(at=at),
        status_token_digest=new.status_token_digest or digest(new_token(24)),
        citizen=citizen,
        channel=new.channel,
        subject=new.subject[:SUBJECT_MAX_LENGTH],
        service=service,
        answers=new.answers or {},
        priority=new.priority or (service.default_priority if service else Priority.NORMAL),
        language=new.language or citizen.preferred_language,
        classified_by=new.classified_by,
        last_activity_at=at,
        channel_account_id=new.channel_account_id,
        channel_identity=new.channel_identity,
    )
    _apply_sla(case, start=at)
    route = route or route_new_case(service=service)
    case.queue, case.assignee = route.queue, route.assignee
    schedule_check(case, at=at)
    return case


def opening_entries(case: Case, *, at: datetime) -> tuple[CaseOpened, list[CaseEvent]]:
    """The saved new case's headline event and its timeline entries (opened, classified,
    assigned), not yet stored."""
    service = case.service
    opened = CaseOpened(
        **case_state(case), channel=case.channel, service=service.name if service else ""
    )
    entries = [build_entry(case=case, event=opened, at=at, channel=case.channel)]
    if case.classified_by:
        classified = CaseClassified(**case_state(case), by=case.classified_by)
        entries.append(build_entry(case=case, event=classified, at=at))
    route_entry = _route_entry(case, at=at)
    if route_entry is not None:
        entries.append(route_entry)
    return opened, entries


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
    publishes one `CaseOpened`. `reference`: the one the contact was given when it was
    acknowledged (see `next_reference`); without one, the next is taken now.
    `channel_account_id` and `channel_identity`: where replies go (the account and address the
    citizen wrote from).
    """
    at = opened_at or now()
    new = NewCase(
        channel=channel,
        subject=subject,
        service=service,
        answers=answers,
        priority=priority,
        language=language,
        opened_at=at,
        classified_by=classified_by,
        status_token_digest=status_token_digest,
        reference=reference,
        channel_account_id=channel_account_id,
        channel_identity=channel_identity,
    )
    case = prepare_case(citizen, new)
    case.save()
    opened, entries = opening_entries(case, at=at)
    add_entries(entries)  # one INSERT for the two or three entries
    announce(opened)
    return case
