"""Presentation helpers of the workspace templates: due times, channel and status names."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from civicdesk.channels.selectors import channel_label as label_of_channel
from civicdesk.workspace.due import due_state
from civicdesk.workspace.forms import status_label as _status_label

register = template.Library()


@register.inclusion_tag("workspace/_due.html")
def due(
    due_at: datetime | None, now: datetime, done_at: datetime | None = None, dom_id: str = ""
) -> dict[str, Any]:
    """A due time: absolute and relative, with its state in words ("Overdue", "Met", …)."""
    state = due_state(due_at=due_at, done_at=done_at, now=now)
    relative = ""
    if due_at is not None and done_at is None:
        if due_at > now:
            relative = f"in {timeuntil(due_at, now, depth=1)}"
        else:
            relative = f"{timesince(due_at, now, depth=1)} ago"
    return {
        "due": state,
        "due_at": timezone.localtime(due_at) if due_at else None,
        "done_at": timezone.localtime(done_at) if done_at else None,
        "relative": relative,
        "dom_id": dom_id,
    }


@register.filter
def channel_label(kind: str) -> str:
    return label_of_channel(kind) if kind else "—"


@register.filter
def status_label(status: str) -> str:
    return _status_label(status) if status else ""
