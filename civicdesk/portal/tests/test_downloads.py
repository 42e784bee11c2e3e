from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile
from django.test import Client

from civicdesk.cases.events import MessageReceived
from civicdesk.cases.models import Attachment, Case, CaseEvent
from civicdesk.cases.services import NewAttachment, add_internal_note, reply_to_case
from civicdesk.channels.services import accept_inbound
from tests.factories import portal_payload


def _attach(event: CaseEvent, name: str, content: bytes) -> Attachment:
    attachment = Attachment(
        event=event, filename=name, content_type="application/pdf", size=len(content)
    )
    attachment.file.save(name, ContentFile(content), save=True)
    return attachment


def test_the_citizen_downloads_a_file_the_council_sent(
    riverton: Any, client: Client, portal_case: Case, portal_token: str
) -> None:
    reply = reply_to_case(
        case=portal_case,
        author=riverton.ann,
        body="Here is the schedule.",
        attachments=[NewAttachment("schedule.pdf", "application/pdf", b"%PDF-1.7 schedule")],
    )
    attachment = reply.entry.attachments.get()
    response = client.get(f"/requests/{portal_token}/files/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="schedule.pdf"'
    assert response["Referrer-Policy"] == "strict-origin"
    assert response.getvalue() == b"%PDF-1.7 schedule"


def test_files_on_internal_notes_or_other_cases_are_not_found(
    riverton: Any, client: Client, portal_case: Case, portal_token: str
) -> None:
    note = add_internal_note(case=portal_case, author=riverton.ann, body="Internal")
    on_note = _attach(note, "internal.pdf", b"secret")
    accept_inbound(channel="portal", raw=portal_payload(), process_now=True)  # someone else's
    other = Case.objects.exclude(pk=portal_case.pk).get()
    on_other = _attach(other.events.get(kind=MessageReceived.kind), "theirs.pdf", b"theirs")

    for attachment in (on_note, on_other):
        response = client.get(f"/requests/{portal_token}/files/{attachment.pk}/")
        assert response.status_code == 404
    assert client.get(f"/requests/not-the-token/files/{on_other.pk}/").status_code == 404
