"""Writing timeline entries: one typed event per entry, stored and (for the headline) published.

Every service in this package records what happened through `add_entry`, so the row's kind,
data schema and public flag always come from the event class and its presenter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.presenters import is_public_kind
from civicdesk.core.clock import now
from civicdesk.realtime.publish import publish

if TYPE_CHECKING:
    from datetime import datetime

    from civicdesk.accounts.models import User
    from civicdesk.cases.events import CaseChange


def case_state(case: Case) -> dict[str, Any]:
    """The `CaseChange` fields for the case as it stands now (call after changing it)."""
    return {
        "reference": case.reference,
        "status": case.status,
        "queue_id": case.queue_id,
        "assignee_id": case.assignee_id,
        "priority": case.priority,
    }


def build_entry(
    *,
    case: Case,
    event: CaseChange,
    at: datetime | None = None,
    author: User | None = None,
    body: str = "",
    channel: str = "",
    author_label: str = "",
    **links: Any,
) -> CaseEvent:
    """The timeline entry for `event`, not yet stored (for `add_entries`)."""
    return CaseEvent(
        case=case,
        kind=event.kind,
        created_at=at or now(),
        author=author,
        body=body,
        is_public=is_public_kind(event.kind),
        channel=channel,
        author_label=author_label,
        data=event.to_data(),
        **links,
    )


def add_entries(entries: list[CaseEvent]) -> list[CaseEvent]:
    """Store entries made by `build_entry`, in order, in one INSERT. Nothing is published."""
    return CaseEvent.objects.bulk_create(entries)


def add_entry(
    *,
    case: Case,
    event: CaseChange,
    at: datetime | None = None,
    author: User | None = None,
    body: str = "",
    channel: str = "",
    author_label: str = "",
    **links: Any,
) -> CaseEvent:
    """Store `event` as the case's next timeline entry (one INSERT). Nothing is published."""
    entry = build_entry(
        case=case,
        event=event,
        at=at,
        author=author,
        body=body,
        channel=channel,
        author_label=author_label,
        **links,
    )
    entry.save(force_insert=True)
    return entry


def announce(event: CaseChange) -> None:
    """Tell every open workspace after commit. One event per action: its headline."""
    publish(event)
