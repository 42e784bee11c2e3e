"""Cases: list, read with timeline, reply to the citizen, add internal notes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field, field_validator

from civicdesk.api.v1.auth import request_user
from civicdesk.api.v1.presenters import case_detail, case_summary, event_detail
from civicdesk.api.v1.schemas import (
    CaseDetail,
    CaseList,
    ErrorOut,
    EventOut,
    TextIn,
    ValidationErrorOut,
)
from civicdesk.api.v1.text_checks import check_no_nul
from civicdesk.cases import selectors
from civicdesk.cases.kernels.status import CaseStatus
from civicdesk.cases.models import CaseEvent
from civicdesk.cases.services import add_internal_note, reply_to_case
from civicdesk.core.errors import NotFound

router = Router(tags=["cases"])
# Past any real listing, and well inside the 64-bit integers both databases take for OFFSET.
OFFSET_MAX = 1_000_000_000
ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}


class CaseFilters(Schema):
    status: CaseStatus | None = None
    service: str | None = Field(default=None, max_length=60, description="A service code.")
    limit: int = Field(default=50, ge=1, le=200, description="1 to 200; else 422.")
    offset: int = Field(default=0, ge=0, le=OFFSET_MAX, description=f"0 to {OFFSET_MAX}; else 422.")

    @field_validator("service")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        return check_no_nul(value) if value else value

    @field_validator("status", "service", mode="before")
    @classmethod
    def _blank_means_any(cls, value: object) -> object:
        return None if value == "" else value


def _access_case(request: HttpRequest, reference: str) -> Any:
    if "\x00" in reference:  # no case has one, and PostgreSQL cannot even compare it
        raise NotFound(f"No case {reference!r}.")
    return selectors.access_case_by_reference(request_user(request), reference)


@router.get("/cases", url_name="case_list", response={200: CaseList, **ERRORS})
def list_cases(request: HttpRequest, filters: Query[CaseFilters]) -> dict[str, Any]:
    """Cases, newest first."""
    cases = selectors.case_listing(
        user=request_user(request),
        status=filters.status.value if filters.status else "",
        service_code=filters.service or "",
    )
    page = cases[filters.offset : filters.offset + filters.limit]
    return {
        "count": cases.count(),
        "limit": filters.limit,
        "offset": filters.offset,
        "items": [case_summary(case) for case in page],
    }


@router.get("/cases/{reference}", url_name="case_detail", response={200: CaseDetail, **ERRORS})
def get_case(request: HttpRequest, reference: str) -> dict[str, Any]:
    """One case with its answers and whole timeline, internal notes included."""
    case = _access_case(request, reference)
    return case_detail(case, list(selectors.timeline(case=case, public_only=False)))


def _event_as_stored(event: CaseEvent) -> dict[str, Any]:
    # Read back: delivery may have moved on since the service returned (immediate backends).
    stored = selectors.timeline(case=event.case, public_only=False).get(pk=event.pk)
    return event_detail(stored)


@router.post(
    "/cases/{reference}/replies", url_name="case_replies", response={201: EventOut, **ERRORS}
)
def post_reply(request: HttpRequest, reference: str, reply: TextIn) -> Status[Any]:
    """Answer the citizen in the channel they last used."""
    user = request_user(request)
    case = _access_case(request, reference)
    sent = reply_to_case(case=case, author=user, body=reply.body)
    return Status(201, _event_as_stored(sent.entry))


@router.post("/cases/{reference}/notes", url_name="case_notes", response={201: EventOut, **ERRORS})
def post_note(request: HttpRequest, reference: str, note: TextIn) -> Status[Any]:
    """An internal note for colleagues; never shown or sent to the citizen."""
    user = request_user(request)
    case = _access_case(request, reference)
    event = add_internal_note(case=case, author=user, body=note.body)
    return Status(201, _event_as_stored(event))
