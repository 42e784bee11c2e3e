"""Request and response shapes of API v1. Limits mirror the API channel adapter's."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, field_validator, model_validator

from civicdesk.api.v1.text_checks import (
    check_filename,
    check_media_type,
    check_no_nul,
    nul_paths,
)
from civicdesk.core import limits


def _storable(value: str | None) -> str | None:
    # Text PostgreSQL can store: a NUL (\u0000) is refused with 422 on every database alike.
    return check_no_nul(value) if value is not None else None


class Strict(Schema):
    # Unknown fields are refused: a misspelt field name should fail loudly, not vanish.
    model_config = ConfigDict(extra="forbid")


class CitizenIn(Strict):
    name: str | None = Field(default=None, max_length=limits.NAME_MAX_LENGTH)
    email: str | None = Field(default=None, max_length=limits.EMAIL_MAX_LENGTH)
    phone: str | None = Field(default=None, max_length=limits.EMAIL_MAX_LENGTH)

    _no_nul = field_validator("name", "email", "phone")(_storable)


def _no_details() -> CitizenIn:
    # A named factory: mypy cannot type a model class passed as `default_factory`.
    return CitizenIn()


class AttachmentIn(Strict):
    filename: str = Field(
        min_length=1,
        max_length=limits.NAME_MAX_LENGTH,
        description="A plain file name: no path separators, control characters or NUL.",
    )
    content_type: str | None = Field(
        default=None,
        max_length=120,
        description="A MIME type, `type/subtype` with optional `; name=value` parameters "
        "(RFC 6838); nothing that could not go in a header.",
    )
    content_b64: str = Field(description="The file's bytes, base64-encoded.")

    @field_validator("filename")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        return check_filename(value)

    @field_validator("content_type")
    @classmethod
    def _media_type(cls, value: str | None) -> str | None:
        return check_media_type(value) if value is not None else None

    @field_validator("content_b64")
    @classmethod
    def _is_base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"is not valid base64 ({exc})") from None
        return value


class ContactIn(Strict):
    """A contact from a citizen, posted by an integration (API channel)."""

    external_id: str | None = Field(
        default=None,
        max_length=limits.PROVIDER_ID_MAX_LENGTH,
        description=(
            "Your idempotency key for this contact, scoped to your API token: sending the same "
            "key with the same body again returns the first answer (200, `duplicate: true`) "
            "and stores nothing; the same key with a different body is refused with 409 — "
            "unless the first one ended `failed`, when the corrected contact replaces it."
        ),
    )
    citizen: CitizenIn = Field(default_factory=_no_details)
    subject: str | None = Field(default=None, max_length=limits.SUBJECT_MAX_LENGTH)
    body: str = Field(min_length=1, max_length=limits.MESSAGE_BODY_MAX_LENGTH)
    service_code: str | None = Field(
        default=None,
        max_length=limits.SERVICE_CODE_MAX_LENGTH,
        description="A service of the catalogue; classified when absent.",
    )
    answers: dict[str, Any] = Field(
        default_factory=dict, description="Answers to the service's questions, by code."
    )
    case_reference: str | None = Field(
        default=None, max_length=40, description="Adds the contact to this existing case."
    )
    language: str | None = Field(default=None, max_length=10)
    attachments: list[AttachmentIn] = Field(default_factory=list)

    _no_nul = field_validator(
        "external_id", "subject", "body", "service_code", "case_reference", "language"
    )(_storable)

    @field_validator("answers")
    @classmethod
    def _answers_storable(cls, value: dict[str, Any]) -> dict[str, Any]:
        found = nul_paths(value)
        if found:
            raise ValueError(f"contains a NUL character (\\u0000) at {', '.join(found)}")
        return value

    @model_validator(mode="after")
    def _someone_to_answer(self) -> ContactIn:
        if not (self.citizen.email or self.citizen.phone or self.case_reference):
            raise ValueError("give citizen.email, citizen.phone or case_reference")
        return self


CONTACT_STATES = (
    "`state` is where the contact is: `received` (stored and acknowledged, waiting to be "
    "routed), `processing` (being turned into a case now), `processed` (a case holds it: "
    "`reference`, `status` and `case_url` name it), `failed` (stored, but it could not be "
    "processed: `detail` says why; staff can replay it, or you can send the corrected contact "
    "with the same `external_id`), `throttled` (held back by a rate limit; processed later). "
    "`reference` is the case reference the citizen can quote from the first answer on; the "
    "case takes it when it is opened."
)


class ContactState(Schema):
    reference: str | None = Field(description="The case reference, given on acknowledgement.")
    state: str = Field(description="received, processing, processed, failed or throttled.")
    payload_id: int
    status_url: str = Field(description="GET it to follow the contact.")
    duplicate: bool = Field(description="This `external_id` and body were received before.")
    status: str | None = Field(default=None, description="The case's status, once processed.")
    case_url: str | None = Field(default=None, description="The case, once processed.")
    detail: str | None = Field(default=None, description="Why it failed, when it failed.")
    superseded_by: int | None = Field(
        default=None, description="A failed contact replaced by a corrected resend: its id."
    )


class ConflictOut(Schema):
    detail: str
    external_id: str
    payload_id: int = Field(description="The contact that holds this external_id.")


class FieldError(Schema):
    field: str
    message: str
    type: str


class ErrorOut(Schema):
    detail: str
    code: str | None = None


class ValidationErrorOut(Schema):
    detail: str
    errors: list[FieldError]


class CaseRow(Schema):
    reference: str
    channel: str
    service: str | None
    status: str
    priority: str
    queue: str | None
    assignee: str | None
    subject: str
    created_at: datetime
    sla_due_at: datetime | None
    citizen: str


class CaseList(Schema):
    count: int
    limit: int
    offset: int
    items: list[CaseRow]


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int


class EventOut(Schema):
    id: int
    kind: str = Field(description="The typed event kind, e.g. case.reply.sent; see data.")
    title: str = Field(description="One sentence saying what happened, as staff read it.")
    created_at: datetime
    author: str | None = Field(description="Staff member's name, or the citizen's label.")
    channel: str
    body: str
    is_public: bool
    delivery_status: str | None = Field(
        description="For replies: queued, sent, delivered, read or failed"
    )
    data: dict[str, Any] = Field(
        description="The event's fields: the case's state after it, and the kind's own fields."
    )
    attachments: list[AttachmentOut]


class CaseDetail(CaseRow):
    service_name: str | None
    language: str
    answers: dict[str, Any]
    first_response_due_at: datetime | None
    first_responded_at: datetime | None
    resolution_due_at: datetime | None
    resolved_at: datetime | None
    follows: str | None = Field(
        description="The reference of the earlier, closed case this one follows up."
    )
    follow_ups: list[str] = Field(
        description="References of the cases opened later as follow-ups of this one."
    )
    events: list[EventOut]


class TextIn(Strict):
    body: str = Field(min_length=1, max_length=limits.MESSAGE_BODY_MAX_LENGTH)

    _no_nul = field_validator("body")(_storable)
