"""POST /contacts: a citizen's contact through the API channel.

The schema is checked first so that a malformed request stores nothing; then the raw body goes
to the channels framework exactly as received, is stored, and processed before answering.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Status

from civicdesk.api.v1.errors import body_too_large_detail
from civicdesk.api.v1.schemas import (
    ContactAccepted,
    ContactFailed,
    ContactIn,
    ErrorOut,
    ValidationErrorOut,
)
from civicdesk.cases.selectors import case_by_reference
from civicdesk.channels.contracts import RawPayload
from civicdesk.channels.models import PayloadStatus
from civicdesk.channels.services import InboundOutcome, accept_inbound

router = Router(tags=["contacts"])

# Request headers kept with the stored payload, for tracing; never the Authorization header.
KEPT_HEADERS = ("User-Agent", "X-Request-ID", "X-Forwarded-For", "Idempotency-Key")


@router.post(
    "/contacts",
    url_name="contacts",
    response={
        200: ContactAccepted,
        201: ContactAccepted,
        202: ContactFailed,
        400: ErrorOut,
        401: ErrorOut,
        413: ErrorOut,
        422: ContactFailed | ValidationErrorOut,
    },
    summary="Send a citizen's contact",
    description=(
        "Opens a case (or adds to `case_reference`), routed and with service-level targets. "
        "201: processed; 200: this `external_id` was received before, nothing new was created; "
        "422 with `payload_id`: the contact was stored but could not be processed (for example "
        "an unknown service_code); an administrator can replay it once the cause is fixed."
    ),
)
def post_contact(request: HttpRequest, payload: ContactIn) -> Status[Any]:
    body = request.body
    if len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:  # a body sent without Content-Length
        return Status(413, ErrorOut(detail=body_too_large_detail()))
    raw = RawPayload(
        body=body,
        content_type=request.content_type or "application/json",
        headers={name: request.headers[name] for name in KEPT_HEADERS if name in request.headers},
    )
    acceptance = accept_inbound(channel="api", raw=raw, process_now=True)
    stored = acceptance.payload
    if stored.status == PayloadStatus.FAILED:
        detail = (stored.error.splitlines() or ["Processing failed"])[0]
        return Status(
            422, {"detail": detail, "payload_id": stored.pk, "duplicate": acceptance.is_duplicate}
        )
    outcome = acceptance.outcome
    if outcome is None or not outcome.case_reference:  # a repeat still being processed
        return Status(
            202,
            {
                "detail": f"Contact received earlier; it is {stored.status}.",
                "payload_id": stored.pk,
                "duplicate": acceptance.is_duplicate,
            },
        )
    return Status(
        200 if acceptance.is_duplicate else 201,
        {
            "reference": outcome.case_reference,
            "status": _case_status(outcome),
            "payload_id": stored.pk,
            "duplicate": acceptance.is_duplicate,
            "case_url": reverse("api-v1:case_detail", kwargs={"reference": outcome.case_reference}),
        },
    )


def _case_status(outcome: InboundOutcome) -> str:
    """The case's status as the handler reported it (`details["status"]`); a handler that
    does not report it costs one lookup."""
    status = (outcome.details or {}).get("status")
    if isinstance(status, str) and status:
        return status
    case = case_by_reference(outcome.case_reference)
    return case.status if case is not None else ""
