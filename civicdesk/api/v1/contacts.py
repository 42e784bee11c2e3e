"""POST /contacts and GET /contacts/{id}: citizens' contacts through the API channel.

A contact is acknowledged after one durable write: the schema and the cheap checks first (a
refused contact stores nothing), then the raw body is stored with its case reference and a
worker routes it. The answer is 202 with the reference and a status URL to follow it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Status

from civicdesk.api.v1.auth import integration_scope
from civicdesk.api.v1.contact_checks import catalogue_refusal
from civicdesk.api.v1.errors import body_too_large_detail
from civicdesk.api.v1.presenters import contact_state
from civicdesk.api.v1.schemas import (
    CONTACT_STATES,
    ConflictOut,
    ContactIn,
    ContactState,
    ErrorOut,
    ValidationErrorOut,
)
from civicdesk.channels.contracts import RawPayload
from civicdesk.channels.selectors import (
    PayloadStatus,
    payload_of_sender,
    processing_runs_inline,
)
from civicdesk.channels.services import accept_inbound
from civicdesk.core.errors import NotFound

if TYPE_CHECKING:  # read through channels.selectors
    from civicdesk.channels.models import InboundPayload

router = Router(tags=["contacts"])

CHANNEL = "api"
# Request headers kept with the stored payload, for tracing; never the Authorization header.
KEPT_HEADERS = ("User-Agent", "X-Request-ID", "X-Forwarded-For", "Idempotency-Key")


@router.post(
    "/contacts",
    url_name="contacts",
    exclude_none=True,
    response={
        200: ContactState,
        201: ContactState,
        202: ContactState,
        400: ErrorOut,
        401: ErrorOut,
        409: ConflictOut,
        413: ErrorOut,
        422: ContactState | ValidationErrorOut,
    },
    summary="Send a citizen's contact",
    description=(
        "Stores the contact and acknowledges it at once; a worker then opens a case (or adds "
        "to `case_reference`), routed and with service-level targets. "
        "202: acknowledged (`state: received`), follow `status_url`; "
        "201: already processed by the time of the answer; "
        "200: this `external_id` with this body was received before (`duplicate: true`, its "
        "current state), nothing new was stored; "
        "409: this `external_id` was used for a different contact, nothing was stored; "
        "422 with `errors`: refused (schema, text with NUL, unsafe file names or types, an "
        "unknown service or invalid answers), nothing was stored; 422 with `payload_id`: "
        "stored but it failed in processing. " + CONTACT_STATES
    ),
)
def post_contact(request: HttpRequest, payload: ContactIn) -> Status[Any]:
    body = request.body
    if len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:  # a body sent without Content-Length
        return Status(413, ErrorOut(detail=body_too_large_detail()))
    refusal = catalogue_refusal(payload)
    if refusal is not None:
        return Status(422, refusal)
    raw = RawPayload(
        body=body,
        content_type=request.content_type or "application/json",
        headers={name: request.headers[name] for name in KEPT_HEADERS if name in request.headers},
    )
    acceptance = accept_inbound(
        channel=CHANNEL,
        raw=raw,
        reserve_reference=True,
        scope=integration_scope(request),
        bind_body=True,
    )
    stored = acceptance.payload
    if acceptance.conflict:
        return Status(
            409,
            {
                "detail": (
                    f"external_id {payload.external_id!r} was used before for a different "
                    "contact; nothing was stored. Resend that contact unchanged, or use a new "
                    "external_id."
                ),
                "external_id": payload.external_id or "",
                "payload_id": stored.pk,
            },
        )
    if not acceptance.is_duplicate and processing_runs_inline():
        stored.refresh_from_db()  # processed on commit already (tests, development)
    state = contact_state(stored, duplicate=acceptance.is_duplicate)
    return Status(_answer_status(stored, duplicate=acceptance.is_duplicate), state)


def _answer_status(stored: InboundPayload, *, duplicate: bool) -> int:
    """200 for a repeat (whatever its state); else 201 processed, 422 failed, 202 waiting."""
    if duplicate:
        return 200
    if stored.status == PayloadStatus.PROCESSED:
        return 201
    if stored.status == PayloadStatus.FAILED:
        return 422
    return 202


@router.get(
    "/contacts/{payload_id}",
    url_name="contact_status",
    exclude_none=True,
    response={200: ContactState, 401: ErrorOut, 404: ErrorOut},
    summary="Follow a contact",
    description=(
        "Where a contact sent with this token is now. Contacts sent with another token are "
        "not found (404). " + CONTACT_STATES
    ),
)
def get_contact(request: HttpRequest, payload_id: int) -> dict[str, Any]:
    stored = payload_of_sender(
        payload_id=payload_id, channel=CHANNEL, scope=integration_scope(request)
    )
    if stored is None:
        raise NotFound(f"No contact {payload_id}.")
    return contact_state(stored, duplicate=False)
