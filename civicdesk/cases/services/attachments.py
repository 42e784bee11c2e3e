"""Files sent with messages. All are checked before any is written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.text import get_valid_filename

from civicdesk.cases.models import Attachment, CaseEvent
from civicdesk.core.errors import DomainError
from civicdesk.core.limits import NAME_MAX_LENGTH


@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content_type: str
    content: bytes
    # An image shown inside the message's HTML as `cid:<content_id>`; "" for a file.
    content_id: str = ""


def save_attachments(entry: CaseEvent, attachments: Sequence[NewAttachment]) -> list[Attachment]:
    """Store the files of a message entry; one too large refuses them all (nothing written)."""
    limit = settings.CIVICDESK_MAX_ATTACHMENT_BYTES
    for item in attachments:
        if len(item.content) > limit:
            raise DomainError(
                f"{item.filename} is larger than the {limit // (1024 * 1024)} MB limit"
            )
    saved = []
    for item in attachments:
        name = get_valid_filename(item.filename)[:150] or "attachment"
        attachment = Attachment(
            event=entry,
            filename=name,
            content_type=item.content_type[:120],
            size=len(item.content),
            content_id=item.content_id[:NAME_MAX_LENGTH],
        )
        attachment.file.save(name, ContentFile(item.content), save=True)
        saved.append(attachment)
    return saved
