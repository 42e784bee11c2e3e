"""A case as its citizen sees it: status in plain words, their answers, the public timeline.

Presentation only. What is public is decided by the selector (`timeline(public_only=True)`);
this module never widens it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from civicdesk.cases.models import Case, CaseEvent, EventKind
from civicdesk.cases.status import CaseStatus
from civicdesk.catalogue.models import AttributeDatatype, ServiceAttribute

# A context of their own: other apps translate the same English words for staff, and in
# Romanian a citizen's request ("solicitare") needs the feminine forms.
STATUS_LABELS: dict[str, Promise] = {
    CaseStatus.NEW: pgettext_lazy("case status for citizens", "Received"),
    CaseStatus.OPEN: pgettext_lazy("case status for citizens", "In progress"),
    CaseStatus.WAITING: pgettext_lazy("case status for citizens", "Waiting for your reply"),
    CaseStatus.RESOLVED: pgettext_lazy("case status for citizens", "Resolved"),
    CaseStatus.CLOSED: pgettext_lazy("case status for citizens", "Closed"),
    CaseStatus.REOPENED: pgettext_lazy("case status for citizens", "Reopened"),
}
_LISTS = (AttributeDatatype.SINGLE_VALUE_LIST, AttributeDatatype.MULTI_VALUE_LIST)


def status_label(status: str) -> str:
    label = STATUS_LABELS.get(status)
    return str(label) if label is not None else status


@dataclass(frozen=True)
class AnsweredQuestion:
    question: str
    answer: str


@dataclass(frozen=True)
class AttachedFile:
    id: int
    name: str


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # "created", "citizen", "council" or "status": the template's styling hook
    at: datetime
    title: str
    body: str = ""
    attachments: tuple[AttachedFile, ...] = ()


def _display_answer(attribute: ServiceAttribute | None, value: Any, language: str) -> str:
    values = value if isinstance(value, list) else [value]
    if attribute is not None and attribute.datatype in _LISTS:
        names = dict(attribute.localized_values(language))
        return ", ".join(names.get(str(v), str(v)) for v in values)
    if attribute is not None and attribute.datatype == AttributeDatatype.DATETIME:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return formats.date_format(moment, "DATETIME_FORMAT")
    return ", ".join(str(v) for v in values)


def answered_questions(*, case: Case, language: str) -> list[AnsweredQuestion]:
    """The answers given with the request, in the service's question order."""
    answers: dict[str, Any] = dict(case.answers or {})
    attributes = list(case.service.attributes.all()) if case.service else []
    result = [
        AnsweredQuestion(
            question=attribute.localized_description(language),
            answer=_display_answer(attribute, answers.pop(attribute.code), language),
        )
        for attribute in attributes
        if attribute.code in answers
    ]
    # A question removed from the service since: still the citizen's answer, shown by its code.
    result += [
        AnsweredQuestion(question=code, answer=_display_answer(None, value, language))
        for code, value in answers.items()
    ]
    return result


def _council_title(event: CaseEvent) -> str:
    first_name = (
        event.author.full_name.split()[0] if event.author and event.author.full_name else ""
    )
    body = settings.CIVICDESK_BODY_NAME
    if first_name:
        return str(_("%(name)s from %(body)s replied") % {"name": first_name, "body": body})
    return str(_("%(body)s replied") % {"body": body})


def _entry(event: CaseEvent) -> TimelineEntry | None:
    names = tuple(AttachedFile(id=a.pk, name=a.filename) for a in event.attachments.all())
    if event.kind == EventKind.CREATED:
        return TimelineEntry(kind="created", at=event.created_at, title=str(_("Request received")))
    if event.kind == EventKind.MESSAGE_IN:
        return TimelineEntry(
            kind="citizen",
            at=event.created_at,
            title=str(_("You wrote")),
            body=event.body,
            attachments=names,
        )
    if event.kind == EventKind.MESSAGE_OUT:
        return TimelineEntry(
            kind="council",
            at=event.created_at,
            title=_council_title(event),
            body=event.body,
            attachments=names,
        )
    if event.kind == EventKind.STATUS:
        label = status_label(str(event.data.get("to", "")))
        return TimelineEntry(
            kind="status",
            at=event.created_at,
            title=str(_("Status changed to: %(status)s") % {"status": label}),
        )
    return None


def timeline_entries(events: Iterable[CaseEvent]) -> list[TimelineEntry]:
    """Entries for the public events given; kinds the citizen has no words for are left out."""
    return [entry for entry in map(_entry, events) if entry is not None]
