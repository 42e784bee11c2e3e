"""A case as its citizen sees it: status in plain words, their answers, the public timeline.

Presentation only. What is public is decided by the selector (`timeline(public_only=True)`);
this module never widens it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import formats, timezone

from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.presenters import Audience, citizen_status_label, present_timeline
from civicdesk.catalogue.models import AttributeDatatype, ServiceAttribute

_LISTS = (AttributeDatatype.SINGLE_VALUE_LIST, AttributeDatatype.MULTI_VALUE_LIST)


def status_label(status: str) -> str:
    return citizen_status_label(status)


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
    kind: str  # the presenter's CSS class: "opened", "message", "reply" or "status"
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


def timeline_entries(events: Iterable[CaseEvent]) -> list[TimelineEntry]:
    """Entries for the public events given, worded for the citizen by `cases.presenters`.

    Kinds the citizen may not see are left out by the presenters, whatever the rows say.
    """
    return [
        TimelineEntry(
            kind=view.css_class,
            at=view.at,
            title=view.title,
            body=view.body,
            attachments=tuple(AttachedFile(id=f.id, name=f.name) for f in view.files),
        )
        for view in present_timeline(events, audience=Audience.CITIZEN)
    ]
