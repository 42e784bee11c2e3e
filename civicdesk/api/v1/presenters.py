"""Cases and events as the API shows them (plain dicts the response schemas validate)."""

from __future__ import annotations

from typing import Any

from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.presenters import Audience, delivery_state, present_entry
from civicdesk.cases.selectors import case_row


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
    return {
        **case_summary(case),
        "service_name": case.service.name if case.service else None,
        "language": case.language,
        "answers": case.answers,
        "first_response_due_at": case.first_response_due_at,
        "first_responded_at": case.first_responded_at,
        "resolution_due_at": case.resolution_due_at,
        "resolved_at": case.resolved_at,
        "events": [event_detail(event) for event in events],
    }
