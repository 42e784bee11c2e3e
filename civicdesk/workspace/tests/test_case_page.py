from __future__ import annotations

import re
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from civicdesk.cases.models import Attachment
from civicdesk.workspace.tests.conftest import OpenCase, accept
from tests.factories import console_payload


def test_case_page_shows_the_header_answers_and_citizen(
    open_case: OpenCase, ann_client: Client
) -> None:
    case = open_case(phone="+44 7911 123456")

    response = ann_client.get(f"/workspace/cases/{case.reference}/")
    html = response.content.decode()

    assert response.status_code == 200
    assert f'<h1 id="case-title"><span class="reference">{case.reference}</span> ' in html
    assert '<span class="status status--new" id="summary-status">New</span>' in html
    assert '<dd id="summary-service">Missed bin collection</dd>' in html
    assert '<dd id="summary-channel">Web portal</dd>' in html
    assert '<dd id="summary-queue">Waste</dd>' in html
    assert '<dd id="summary-assignee">Ann Abbott</dd>' in html
    assert 'id="summary-first-response"' in html
    assert 'id="summary-resolution"' in html
    assert "<div><dt>Which bin was missed?</dt><dd>General waste</dd></div>" in html
    assert "<div><dt>Address of the collection</dt><dd>1 River Street</dd></div>" in html
    assert '<dd id="citizen-name">Jo Citizen</dd>' in html
    contacts = html.split('<ul class="plain" id="citizen-contacts">')[1].split("</ul>")[0]
    assert re.findall(r"<li>(.*?)</li>", contacts) == [
        '<span class="contact-kind">Email</span>: jo@mail.example',
        '<span class="contact-kind">Phone</span>: +447911123456',
    ]
    assert '<dd id="citizen-language">en</dd>' in html


def test_case_page_lists_the_citizens_case_from_another_channel(
    open_case: OpenCase, ann_client: Client
) -> None:
    portal_case = open_case()
    console_case = accept(
        "console", console_payload(text="The street light is out", subject="Street light")
    )
    assert console_case.citizen_id == portal_case.citizen_id
    assert console_case.pk != portal_case.pk

    html = ann_client.get(f"/workspace/cases/{portal_case.reference}/").content.decode()
    others = html.split('<table class="cases cases--compact" id="other-cases">')[1].split(
        "</table>"
    )[0]

    assert re.findall(r'id="other-case-([A-Z0-9-]+)"', others) == [console_case.reference]
    assert f'href="/workspace/cases/{console_case.reference}/"' in others
    assert "<td>Console (development)</td>" in others
    assert "<td>New</td>" in others
    assert '<span class="other-subject">Street light</span>' in others


def test_an_unknown_reference_is_not_found(riverton: Any, ann_client: Client) -> None:
    assert ann_client.get("/workspace/cases/RIV-1999-999999/").status_code == 404
    assert ann_client.get("/workspace/cases/RIV-1999-999999/timeline/").status_code == 404


def test_timeline_partial_for_htmx_has_the_summary_out_of_band(
    open_case: OpenCase, ann_client: Client
) -> None:
    case = open_case()

    response = ann_client.get(
        f"/workspace/cases/{case.reference}/timeline/", headers={"HX-Request": "true"}
    )
    html = response.content.decode()

    assert html.lstrip().startswith('<section id="timeline"')
    assert '<section id="case-summary" class="case-summary"' in html
    assert 'hx-swap-oob="true"' in html.split('<section id="case-summary"')[1].split(">")[0]
    assert "<html" not in html


def test_attachments_are_listed_and_downloaded_with_their_name(
    open_case: OpenCase, ann_client: Client
) -> None:
    case = open_case()
    ann_client.post(
        f"/workspace/cases/{case.reference}/reply/",
        {
            "body": "Here is the collection calendar.",
            "attachments": [SimpleUploadedFile("calendar.txt", b"Mondays", "text/plain")],
        },
    )
    attachment = Attachment.objects.get(event__case=case)

    html = ann_client.get(f"/workspace/cases/{case.reference}/").content.decode()
    url = f"/workspace/cases/{case.reference}/attachments/{attachment.pk}/"
    download = ann_client.get(url)

    assert f'<a id="attachment-{attachment.pk}" href="{url}" download>calendar.txt</a>' in html
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="calendar.txt"'
    assert download["Content-Type"] == "text/plain"
    assert b"".join(download.streaming_content) == b"Mondays"  # type: ignore[attr-defined]
    download.close()


def test_an_attachment_of_another_case_is_not_found(
    open_case: OpenCase, ann_client: Client
) -> None:
    case = open_case()
    other = open_case()
    ann_client.post(
        f"/workspace/cases/{case.reference}/reply/",
        {"body": "File", "attachments": [SimpleUploadedFile("a.txt", b"x", "text/plain")]},
    )
    attachment = Attachment.objects.get(event__case=case)

    response = ann_client.get(f"/workspace/cases/{other.reference}/attachments/{attachment.pk}/")

    assert response.status_code == 404
