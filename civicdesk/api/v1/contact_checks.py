"""Checks a contact must pass before it is stored, so that the integration hears at once.

Only what can be judged cheaply and surely at the door: the service exists and the answers
fit its questions, read from a per-process catalogue cache (`catalogue.selectors`, 10 s).
Whatever can only fail later (a service withdrawn within those seconds, a case that went
away) is stored, fails in processing, and shows as `failed` on the contact's status.
"""

from __future__ import annotations

from typing import Any

from civicdesk.api.v1.schemas import ContactIn
from civicdesk.catalogue.selectors import cached_offered_service
from civicdesk.catalogue.services import clean_answers
from civicdesk.core.errors import DomainError

REFUSED = "The contact cannot be accepted; see `errors`. Nothing was stored."


def _refusal(field: str, message: str, kind: str) -> dict[str, Any]:
    return {"detail": REFUSED, "errors": [{"field": field, "message": message, "type": kind}]}


def catalogue_refusal(contact: ContactIn) -> dict[str, Any] | None:
    """The 422 body for a contact the catalogue refuses, or None when it may be stored."""
    if contact.case_reference:
        return None  # it joins a case, whose service was settled when it was opened
    if not contact.service_code:
        if contact.answers:
            return _refusal(
                "answers",
                "Answers need a service_code to say which questions they answer.",
                "answers_without_service",
            )
        return None
    service = cached_offered_service(code=contact.service_code)
    if service is None:
        return _refusal(
            "service_code", f"Unknown service {contact.service_code!r}.", "unknown_service"
        )
    try:
        clean_answers(service=service, answers=contact.answers)
    except DomainError as exc:
        return _refusal("answers", exc.message, "invalid_answers")
    return None
