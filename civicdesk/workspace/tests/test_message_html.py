"""An HTML-only email on the case page: shown as its sanitised HTML, its own photo inline from
the case's stored attachment, nothing remote loaded, the quoted history folded away."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from civicdesk.cases.events import MessageReceived
from civicdesk.cases.models import Attachment, CaseEvent
from civicdesk.workspace.tests.html_mail import PNG, accept_html_mail

pytestmark = pytest.mark.django_db


def test_an_html_only_email_is_shown_sanitised_with_its_own_image_inline(
    riverton: Any, ann_client: Client
) -> None:
    case = accept_html_mail()
    entry = CaseEvent.objects.get(case=case, kind=MessageReceived.kind)
    [photo] = Attachment.objects.filter(event=entry)
    assert (photo.content_id, photo.content_type) == ("tree-photo@mail.example", "image/png")
    page = ann_client.get(f"/workspace/cases/{case.reference}/").content.decode()

    shown = re.search(rf'<div class="event__body event__body--html" id="event-{entry.pk}-html">'
                      r"(.*?)</div>\s*<details", page, re.S)  # fmt: skip
    assert shown is not None, page
    html = shown.group(1)
    assert "<p>A tree has <b>fallen</b> across the footpath in Riverside Park.</p>" in html
    image_url = f"/workspace/cases/{case.reference}/attachments/{photo.pk}/?inline=1"
    assert f'<img src="{image_url}" alt="The fallen tree" width="320">' in html
    # Nothing runs and nothing remote loads: script, handlers, styles and the tracker are gone.
    timeline = page[page.index('<section id="timeline"') : page.index('<section class="actions"')]
    for unsafe in ("<script", "owned", "onerror", "onclick", "steal()", "<style", "tracker.example",
                   "cid:"):  # fmt: skip
        assert unsafe not in timeline
    assert '<img alt="" width="1" height="1">' in html
    # The signature and quoted history are one click away, in a <details> that needs no script.
    folded = re.search(
        rf'<details class="event__folded" id="event-{entry.pk}-folded"><summary>Show quoted text '
        r'and signature</summary><div class="event__quoted event__quoted--html">(.*?)</div>'
        r"</details>",
        page,
        re.S,
    )
    assert folded is not None
    assert "Tom Reed<br>Riverside Residents" in folded.group(1)
    assert "<blockquote>Please send us a photo of the tree.</blockquote>" in folded.group(1)
    assert "Please send us a photo" not in html
    # The text version is not shown besides the HTML.
    assert page.count("across the footpath") == 1
    # The live update of the timeline shows it the same way.
    live = ann_client.get(f"/workspace/cases/{case.reference}/timeline/").content.decode()
    assert html in live
    assert folded.group(0) in live

    image = ann_client.get(image_url)
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert image["Content-Disposition"] == 'inline; filename="tree.png"'
    assert image["Content-Security-Policy"].endswith("sandbox")
    assert image["X-Content-Type-Options"] == "nosniff"
    assert b"".join(image.streaming_content) == PNG  # type: ignore[attr-defined]
    image.close()


def test_a_file_is_never_served_inline_unless_it_is_a_raster_image(
    riverton: Any, ann_client: Client
) -> None:
    case = accept_html_mail()
    photo = Attachment.objects.get(event__case=case)
    Attachment.objects.filter(pk=photo.pk).update(content_type="image/svg+xml")
    url = f"/workspace/cases/{case.reference}/attachments/{photo.pk}/"
    response = ann_client.get(url + "?inline=1")
    assert response["Content-Disposition"] == 'attachment; filename="tree.png"'
    page = ann_client.get(f"/workspace/cases/{case.reference}/").content.decode()
    # An SVG is not shown inside the message: its image is left without a source.
    assert re.findall(r"<img[^>]*>", page) == [
        '<img width="320" alt="The fallen tree">',
        '<img alt="" width="1" height="1">',
    ]
    assert Client().get(url + "?inline=1").status_code == 302  # signed out: to the login page
    response.close()


def test_a_plain_text_message_is_shown_as_text(riverton: Any, ann_client: Client) -> None:
    case = accept_html_mail()
    CaseEvent.objects.filter(case=case, kind=MessageReceived.kind).update(body_html="")
    page = ann_client.get(f"/workspace/cases/{case.reference}/").content.decode()
    assert "event__body--html" not in page
    assert "<p>A tree has fallen across the footpath in Riverside Park.</p>" in page
    assert '<div class="event__quoted"><p>--<br>Tom Reed' in page
