"""Cases and events as the API shows them (plain dicts the response schemas validate)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.urls import reverse

from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.presenters import Audience, delivery_state, present_entry
from civicdesk.cases.selectors import case_by_reference, case_row, linked_cases
from civicdesk.channels.selectors import PayloadStatus

if TYPE_CHECKING:  # the API reads payloads through channels.selectors
    from civicdesk.channels.models import InboundPayload


def case_summary(case: Case) -> dict[str, Any]:
    return {**case_row(case), "citizen": str(case.citizen)}


def event_detail(event: CaseEvent) -> dict[str, Any]:
    author = event.author.get_full_name() if event.author else event.author_label or None
    view = present_entry(event, audience=Audience.STAFF)
    return {
        "id": event.pk,
        "kind": event.kind,
        "title": view.title if view else event.kind,
        "created_at": event.created_at,
        "author": author,
        "channel": event.channel,
        "body": event.body,
        "is_public": event.is_public,
        "delivery_status": delivery_state(event.delivery) if event.delivery else None,
        "data": event.data,
        "attachments": [
            {"id": a.pk, "filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in event.attachments.all()
        ],
    }


def case_detail(case: Case, events: list[CaseEvent]) -> dict[str, Any]:
    linked = linked_cases(case=case)
    return {
        **case_summary(case),
        "service_name": case.service.name if case.service else None,
        "language": case.language,
        "answers": case.answers,
        "first_response_due_at": case.first_response_due_at,
        "first_responded_at": case.first_responded_at,
        "resolution_due_at": case.resolution_due_at,
        "resolved_at": case.resolved_at,
        "follows": linked.follows.reference if linked.follows else None,
        "follow_ups": [other.reference for other in linked.follow_ups],
        "events": [event_detail(event) for event in events],
    }


def contact_state(payload: InboundPayload, *, duplicate: bool) -> dict[str, Any]:
    """A contact as its integration follows it (see `schemas.CONTACT_STATES`). A processed
    contact costs one query (its case's status)."""
    reference = payload.result_reference or payload.reference or None
    state: dict[str, Any] = {
        "reference": reference,
        "state": payload.status,
        "payload_id": payload.pk,
        "status_url": reverse("api-v1:contact_status", kwargs={"payload_id": payload.pk}),
        "duplicate": duplicate,
    }
    if payload.status == PayloadStatus.PROCESSED and payload.result_reference:
        case = case_by_reference(payload.result_reference)
        state["status"] = case.status if case else None
        state["case_url"] = reverse(
            "api-v1:case_detail", kwargs={"reference": payload.result_reference}
        )
    if payload.status == PayloadStatus.FAILED:
        state["detail"] = (payload.error.splitlines() or ["Processing failed"])[0]
    if payload.superseded_by_id:
        state["superseded_by"] = payload.superseded_by_id
    return state
