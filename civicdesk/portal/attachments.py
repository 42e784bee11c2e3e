"""What the portal accepts as an attachment: one image or PDF, no larger than the body allows.

The type is read from the file's first bytes, not from its name or the browser's claim, so a
renamed executable is refused and the content type stored on the case is the true one.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from civicdesk.channels.contracts import InboundAttachment

# The `accept` list offered to the browser's file picker; the server checks the bytes anyway.
ACCEPTED_TYPES = "image/jpeg,image/png,image/gif,image/webp,application/pdf"


def sniff_content_type(head: bytes) -> str | None:
    """The content type of a file from its first 12 bytes, when it is one the portal accepts."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def attachment_limit() -> int:
    return int(settings.CIVICDESK_MAX_ATTACHMENT_BYTES)


def attachment_hint() -> str:
    return str(
        _("A photo (JPEG, PNG, GIF or WebP) or a PDF, up to %(limit)s.")
        % {"limit": filesizeformat(attachment_limit())}
    )


class AttachmentField(forms.FileField):
    """An optional upload, cleaned to an `InboundAttachment` ready for the channel payload."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.FileInput(attrs={"accept": ACCEPTED_TYPES}))
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> InboundAttachment | None:
        upload = super().clean(data, initial)
        if not isinstance(upload, UploadedFile):
            return None
        limit = attachment_limit()
        if upload.size is None or upload.size > limit:
            raise forms.ValidationError(
                _("The file is too big: it must be %(limit)s or smaller."),
                code="too_big",
                params={"limit": filesizeformat(limit)},
            )
        upload.seek(0)
        content = upload.read()
        content_type = sniff_content_type(content[:12])
        if content_type is None:
            raise forms.ValidationError(
                _("The file must be a photo (JPEG, PNG, GIF or WebP) or a PDF."),
                code="file_type",
            )
        return InboundAttachment(
            filename=upload.name or "attachment", content_type=content_type, content=content
        )
