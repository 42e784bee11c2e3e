"""Writes on cases. Every change that agents should see live publishes an event after commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import get_valid_filename

from civicdesk.accounts.services import set_availability
from civicdesk.cases.models import (
    Attachment,
    Case,
    CaseEvent,
    EventKind,
    ReferenceSequence,
)
from civicdesk.cases.selectors import reply_channel
from civicdesk.cases.status import (
    FINISHED,
    CaseStatus,
    InvalidTransition,
    check_transition,
    status_after_agent_reply,
    status_after_citizen_contact,
)
from civicdesk.channels import registry
from civicdesk.channels.contracts import OutgoingMessage
from civicdesk.channels.services import queue_delivery
from civicdesk.citizens.models import Citizen
from civicdesk.citizens.selectors import first_contact_value
from civicdesk.core.clock import now
from civicdesk.core.errors import DomainError
from civicdesk.core.limits import SUBJECT_MAX_LENGTH
from civicdesk.core.priority import Priority
from civicdesk.core.tokens import digest, new_token
from civicdesk.realtime.publish import publish
from civicdesk.routing.selectors import waiting_order, waits_for_assignment_filter
from civicdesk.routing.services import next_agent_for, route_new_case
from civicdesk.sla.services import compute_targets

if TYPE_CHECKING:
    from civicdesk.accounts.models import User
    from civicdesk.catalogue.models import Service
    from civicdesk.routing.models import Queue


@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content_type: str
    content: bytes


# --- references ---------------------------------------------------------------------------


def next_reference(*, at: datetime) -> str:
    """The next human-friendly reference, e.g. RIV-2026-000123. Call inside a transaction."""
    prefix = settings.CIVICDESK_REFERENCE_PREFIX
    year = timezone.localtime(at).year
    sequence, _ = ReferenceSequence.objects.select_for_update().get_or_create(
        prefix=prefix, year=year
    )
    ReferenceSequence.objects.filter(pk=sequence.pk).update(last_value=F("last_value") + 1)
    sequence.refresh_from_db(fields=["last_value"])
    return f"{prefix}-{year}-{sequence.last_value:06d}"


# --- events -------------------------------------------------------------------------------


def _case_event_data(case: Case) -> dict[str, Any]:
    return {
        "reference": case.reference,
        "status": case.status,
        "queue_id": case.queue_id,
        "assignee_id": case.assignee_id,
        "priority": case.priority,
    }


def _publish_case(kind: str, case: Case) -> None:
    # Every open workspace hears of every case change once; the event names the assignee.
    publish(kind, _case_event_data(case))


def _add_event(
    *,
    case: Case,
    kind: str,
    at: datetime | None = None,
    author: User | None = None,
    body: str = "",
    is_public: bool = False,
    channel: str = "",
    author_label: str = "",
    data: dict[str, Any] | None = None,
    **links: Any,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        kind=kind,
        created_at=at or now(),
        author=author,
        body=body,
        is_public=is_public,
        channel=channel,
        author_label=author_label,
        data=data or {},
        **links,
    )


def _save_attachments(event: CaseEvent, attachments: Sequence[NewAttachment]) -> None:
    """Store the files of a message; all are checked before any is written."""
    limit = settings.CIVICDESK_MAX_ATTACHMENT_BYTES
    for item in attachments:
        if len(item.content) > limit:
            raise DomainError(
                f"{item.filename} is larger than the {limit // (1024 * 1024)} MB limit"
            )
    for item in attachments:
        name = get_valid_filename(item.filename)[:150] or "attachment"
        attachment = Attachment(
            event=event,
            filename=name,
            content_type=item.content_type[:120],
            size=len(item.content),
        )
        attachment.file.save(name, ContentFile(item.content), save=True)


# --- opening and routing --------------------------------------------------------------------


def _apply_sla(case: Case, *, start: datetime) -> None:
    targets = compute_targets(
        policy_id=case.service.sla_policy_id if case.service else None,
        priority=case.priority,
        start=start,
    )
    if targets is None:
        return
    case.sla_policy_name = targets.policy_name
    case.first_response_due_at = targets.first_response_due_at
    case.resolution_due_at = targets.resolution_due_at
    case.sla_due_at = targets.first_response_due_at


def _record_route(case: Case, *, at: datetime) -> None:
    if case.queue is None:
        return
    data: dict[str, Any] = {"queue": case.queue.name, "automatic": True}
    if case.assignee is not None:
        data = {"to": case.assignee.get_full_name(), "to_id": case.assignee_id, **data}
    else:
        data["waiting"] = True
    _add_event(case=case, kind=EventKind.ASSIGNMENT, at=at, data=data)


@transaction.atomic
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
) -> Case:
    """A new case: referenced, routed to a queue and an agent, with service-level targets.

    `status_token_digest` is the digest of the private link the citizen was given (the portal
    makes it); without one the case gets a link nobody knows until `issue_status_token`.
    """
    at = opened_at or now()
    case = Case(
        reference=next_reference(at=at),
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
    )
    _apply_sla(case, start=at)
    route = route_new_case(service=service)
    case.queue, case.assignee = route.queue, route.assignee
    case.save()
    _add_event(
        case=case,
        kind=EventKind.CREATED,
        at=at,
        is_public=True,
        channel=channel,
        data={"service": service.name if service else ""},
    )
    if classified_by:
        _add_event(case=case, kind=EventKind.CLASSIFIED, at=at, data={"by": classified_by})
    _record_route(case, at=at)
    _publish_case("case.created", case)
    return case


def _lock(case: Case) -> None:
    """Re-read the case under a row lock, so that checks and writes see its latest state.

    Two agents (or an agent and the citizen) acting at once then take turns instead of one
    silently undoing the other. Precondition: inside a transaction.
    """
    Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True).get()
    case.refresh_from_db()


def _sla_due(case: Case) -> datetime | None:
    """The next target the case can still meet or miss; none once it is finished."""
    if case.status_value in FINISHED:
        return None
    if case.first_responded_at is None:
        return case.first_response_due_at
    return case.resolution_due_at


def _set_status(
    case: Case,
    target: CaseStatus,
    *,
    at: datetime,
    by: User | None = None,
    automatic: bool = False,
) -> list[str]:
    """Move the case to `target` with its timeline entry and service-level consequences.

    A finished case stops its clocks; a reopened one gets a fresh resolution target from the
    moment it came back. Returns the fields changed, for the caller's save.
    """
    data: dict[str, Any] = {"from": case.status, "to": target.value}
    if automatic:
        data["automatic"] = True
    _add_event(case=case, kind=EventKind.STATUS, at=at, author=by, is_public=True, data=data)
    case.status = target.value
    if target in FINISHED:
        case.resolved_at = case.resolved_at or at
    else:
        case.resolved_at = None
    if target is CaseStatus.REOPENED:
        targets = compute_targets(
            policy_id=case.service.sla_policy_id if case.service else None,
            priority=case.priority,
            start=at,
        )
        if targets is not None:
            case.resolution_due_at = targets.resolution_due_at
    case.sla_due_at = _sla_due(case)
    return ["status", "resolved_at", "resolution_due_at", "sla_due_at"]


@transaction.atomic
def record_citizen_message(
    *,
    case: Case,
    body: str,
    channel: str,
    author_label: str = "",
    attachments: Sequence[NewAttachment] = (),
    payload_id: int | None = None,
    at: datetime | None = None,
) -> CaseEvent:
    """A message from the citizen on a case; a resolved case reopens, a waiting one opens."""
    _lock(case)
    when = at or now()
    event = _add_event(
        case=case,
        kind=EventKind.MESSAGE_IN,
        at=when,
        body=body,
        is_public=True,
        channel=channel,
        author_label=author_label,
        payload_id=payload_id,
    )
    _save_attachments(event, attachments)
    update = ["last_activity_at", "updated_at"]
    case.last_activity_at = when
    new_status = status_after_citizen_contact(case.status_value)
    if new_status != case.status_value:
        update += _set_status(case, new_status, at=when, automatic=True)
    case.save(update_fields=update)
    _publish_case("case.message_received", case)
    return event


@transaction.atomic
def issue_status_token(*, case: Case) -> str:
    """A new secret for the case's private status link; the previous link stops working."""
    token = new_token(24)
    case.status_token_digest = digest(token)
    case.save(update_fields=["status_token_digest", "updated_at"])
    return token


# --- agent actions --------------------------------------------------------------------------


@transaction.atomic
def reply_to_case(
    *, case: Case, author: User, body: str, attachments: Sequence[NewAttachment] = ()
) -> CaseEvent:
    """Answer the citizen in the channel they used; the first reply meets first response."""
    body = body.strip()
    if not body:
        raise DomainError("A reply needs some text.")
    _lock(case)
    channel = reply_channel(case)
    try:
        adapter = registry.adapter_for(channel)
    except registry.UnknownChannel:
        # Historical origins (phone, counter, letter…) are recorded but have no adapter yet.
        raise DomainError(
            f"Replies by {channel} are not available yet; contact the citizen another way "
            "and record what was said as a note."
        ) from None
    recipient = ""
    for kind in adapter.recipient_kinds:
        recipient = first_contact_value(citizen_id=case.citizen_id, kind=kind) or ""
        if recipient:
            break
    at = now()
    delivery = queue_delivery(
        message=OutgoingMessage(
            channel=channel,
            recipient=recipient,
            body=body,
            subject=f"[{case.reference}] {case.subject}",
            thread_reference=case.reference,
        )
    )
    event = _add_event(
        case=case,
        kind=EventKind.MESSAGE_OUT,
        at=at,
        author=author,
        body=body,
        is_public=True,
        channel=channel,
        delivery=delivery,
    )
    _save_attachments(event, attachments)
    update = ["last_activity_at", "updated_at", "first_responded_at", "sla_due_at"]
    case.last_activity_at = at
    case.first_responded_at = case.first_responded_at or at
    case.sla_due_at = _sla_due(case)
    new_status = status_after_agent_reply(case.status_value)
    if new_status != case.status_value:
        update += _set_status(case, new_status, at=at, by=author)
    case.save(update_fields=update)
    _publish_case("case.replied", case)
    return event


@transaction.atomic
def add_internal_note(*, case: Case, author: User, body: str) -> CaseEvent:
    """A note for colleagues only: never shown to the citizen, never sent."""
    body = body.strip()
    if not body:
        raise DomainError("A note needs some text.")
    event = _add_event(case=case, kind=EventKind.NOTE, author=author, body=body)
    _publish_case("case.note_added", case)
    return event


@transaction.atomic
def change_case_status(*, case: Case, status: str, by: User) -> Case:
    """Move the case along the workflow; a move the table does not allow changes nothing."""
    _lock(case)
    try:
        target = CaseStatus(status)
        check_transition(case.status_value, target)
    except ValueError as exc:
        message = str(exc) if isinstance(exc, InvalidTransition) else f"Unknown status {status!r}"
        raise DomainError(message) from exc
    at = now()
    update = ["updated_at", "last_activity_at", *_set_status(case, target, at=at, by=by)]
    case.last_activity_at = at
    case.save(update_fields=update)
    _publish_case("case.status_changed", case)
    return case


@transaction.atomic
def assign_case(*, case: Case, assignee: User | None, by: User, queue: Queue | None = None) -> Case:
    """Give the case to a colleague (or nobody), optionally moving it to another queue."""
    if assignee is not None and not assignee.is_active:
        raise DomainError(f"{assignee} is not an active member of staff.")
    _lock(case)
    previous = case.assignee
    previous_queue = case.queue
    case.assignee = assignee
    if queue is not None:
        case.queue = queue
    if previous == case.assignee and previous_queue == case.queue:
        return case
    _add_event(
        case=case,
        kind=EventKind.ASSIGNMENT,
        author=by,
        data={
            "from": previous.get_full_name() if previous else "",
            "to": assignee.get_full_name() if assignee else "",
            "to_id": assignee.pk if assignee else None,
            "queue": case.queue.name if case.queue else "",
        },
    )
    case.save(update_fields=["assignee", "queue", "updated_at"])
    _publish_case("case.assigned", case)
    return case


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
        _add_event(
            case=case,
            kind=EventKind.ASSIGNMENT,
            data={
                "to": chosen.get_full_name(),
                "to_id": chosen.pk,
                "queue": case.queue.name if case.queue else "",
                "automatic": True,
            },
        )
        _publish_case("case.assigned", case)
        to_this_agent += chosen.pk == agent.pk
    return to_this_agent
