"""Valid portal forms written as the portal channel's JSON (see channels/adapters/portal).

The portal is a channel like any other: what the citizen sent is stored raw before anything
else happens, so a request that later fails to process is still there for staff.
"""

from __future__ import annotations

import json
from typing import Any

from civicdesk.channels.contracts import InboundAttachment, RawPayload
from civicdesk.core.tokens import digest
from civicdesk.portal.forms import ReplyForm, RequestForm

CHANNEL = "portal"


def _raw(data: dict[str, Any], attachment: InboundAttachment | None) -> RawPayload:
    data["attachments"] = [attachment.to_json()] if attachment else []
    return RawPayload(body=json.dumps(data, ensure_ascii=False).encode())


def request_payload(*, form: RequestForm, language: str) -> RawPayload:
    """A new request for the form's service. Precondition: the form is valid."""
    data = form.cleaned_data
    return _raw(
        {
            "submission_id": data["submission_id"],
            "status_token_digest": digest(data["status_token"]),
            "service_code": form.service.code,
            "answers": form.answers(),
            "name": data["name"],
            "email": data["email"],
            "phone": data["phone"],
            "description": data["description"],
            "language": language,
        },
        form.attachment_file(),
    )


def reply_payload(*, form: ReplyForm, status_token_digest: str, language: str) -> RawPayload:
    """A citizen's message on the case whose link's secret has this digest. Precondition: the
    form is valid, and the page proved the link (the raw secret, or a signed link to it).

    The payload names the case by the digest of the link's secret, never the secret itself.
    """
    data = form.cleaned_data
    return _raw(
        {
            "submission_id": data["submission_id"],
            "status_token_digest": status_token_digest,
            "description": data["body"],
            "language": language,
        },
        form.attachment_file(),
    )
