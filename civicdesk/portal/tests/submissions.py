"""Form data and files the portal tests send, as a browser would."""

from __future__ import annotations

import re
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

SUBMISSION_ID = "0123456789abcdef0123456789abcdef"
# The secret of the status link the rendered form carries in a hidden field.
STATUS_TOKEN = "rivertonStatusLinkSecret0123456789abcdef"
# The first bytes of a PNG file: enough for the portal's type check.
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def missed_bin_data(**fields: Any) -> dict[str, Any]:
    """A complete, valid request for the Riverton `missed-bin` service."""
    data: dict[str, Any] = {
        "answer_bin_type": "general",
        "answer_address": "1 River Street",
        "description": "My bin was not collected this morning.",
        "name": "Jo Citizen",
        "email": "jo@mail.example",
        "phone": "",
        "submission_id": SUBMISSION_ID,
        "status_token": STATUS_TOKEN,
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def png(name: str = "photo.png", size: int = 64) -> SimpleUploadedFile:
    content = PNG_HEADER + b"\x00" * max(0, size - len(PNG_HEADER))
    return SimpleUploadedFile(name, content, content_type="image/png")


def status_token(location: str) -> str:
    """The token in the address of a status page."""
    match = re.fullmatch(r"/requests/([\w-]+)/(\?new=1)?", location)
    assert match is not None, location
    return match.group(1)


def control_tag(html: bytes, element_id: str) -> str:
    """The opening tag of the form control with this id in a page."""
    match = re.search(rf'<(input|textarea)[^>]* id="{element_id}"[^>]*>', html.decode())
    assert match is not None, element_id
    return match.group(0)


def describedby(tag: str) -> list[str]:
    match = re.search(r'aria-describedby="([^"]*)"', tag)
    return match.group(1).split() if match else []
