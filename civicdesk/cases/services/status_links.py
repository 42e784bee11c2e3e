"""The citizen's private status link: only its digest is stored."""

from __future__ import annotations

from django.db import transaction

from civicdesk.cases.models import Case
from civicdesk.core.tokens import digest, new_token


@transaction.atomic
def issue_status_token(*, case: Case) -> str:
    """A new secret for the case's private status link; the previous link stops working."""
    token = new_token(24)
    case.status_token_digest = digest(token)
    case.save(update_fields=["status_token_digest", "updated_at"])
    return token
