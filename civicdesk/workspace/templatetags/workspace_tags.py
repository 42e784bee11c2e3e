"""Presentation helpers of the workspace templates: due times, channel and status names."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince, timeuntil

from civicdesk.cases.presenters import EntryView, FileView, MessageHtml, message_html
from civicdesk.cases.selectors import FLAG_LABELS, sla_flag
from civicdesk.channels.selectors import channel_label as label_of_channel
from civicdesk.workspace.due import due_state
from civicdesk.workspace.forms import status_label as _status_label

register = template.Library()


@register.simple_tag
def entry_html(entry: EntryView, reference: str) -> MessageHtml | None:
    """An HTML message made safe, its inline images served by the case's attachment view
    (the same access check as every download), shown inline: `{% entry_html entry ref as x %}`."""

    def file_url(file: FileView) -> str:
        return reverse("workspace:attachment", args=[reference, file.id]) + "?inline=1"

    return message_html(entry, file_url=file_url)


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


@register.simple_tag
def sla_badge(case: Any, now: datetime) -> str:
    """The case's service-level flag in words (Paused, Warning, Breached); no query."""
    flag = sla_flag(case, now=now)
    if not flag:
        return ""
    return format_html('<span class="sla-flag sla-flag--{}">{}</span> ', flag, FLAG_LABELS[flag])


@register.filter
def business_duration(value: timedelta) -> str:
    """A business-time amount as "3 h 20 min" ("overdue by …" when negative)."""
    minutes = int(abs(value.total_seconds()) // 60)
    hours, rest = divmod(minutes, 60)
    text = f"{hours} h {rest} min" if hours else f"{rest} min"
    return f"overdue by {text}" if value < timedelta(0) else f"{text} left"


@register.filter
def channel_label(kind: str) -> str:
    return label_of_channel(kind) if kind else "—"


@register.filter
def status_label(status: str) -> str:
    return _status_label(status) if status else ""
