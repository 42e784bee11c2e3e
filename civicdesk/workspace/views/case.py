"""The case page: summary, citizen, answers, timeline and the action forms; attachments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from civicdesk.cases.presenters import Audience, present_timeline, shows_inline
from civicdesk.cases.selectors import (
    access_attachment_by_id,
    access_case_by_reference,
    answered_questions,
    citizen_cases,
    linked_cases,
    reply_channel,
    sla_panel,
    timeline,
    unreachable_notice,
)
from civicdesk.citizens.selectors import contact_points_of
from civicdesk.core.clock import now
from civicdesk.core.errors import NotFound
from civicdesk.workspace.forms import AssignForm, CaseForm, NoteForm, ReplyForm, StatusForm
from civicdesk.workspace.views.page import StaffRequest, fragments, frame_context, wants_fragment

TEMPLATE = "workspace/case.html"
FORMS: dict[str, type[CaseForm]] = {
    "reply_form": ReplyForm,
    "note_form": NoteForm,
    "status_form": StatusForm,
    "assign_form": AssignForm,
}

if TYPE_CHECKING:
    from civicdesk.cases.models import Case


def case_or_404(request: StaffRequest, reference: str) -> Case:
    try:
        return access_case_by_reference(request.user, reference)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def case_context(
    request: StaffRequest, case: Case, *, bound: dict[str, CaseForm] | None = None
) -> dict[str, Any]:
    """Everything the case page shows, read through selectors; `bound` replaces blank forms."""
    forms: dict[str, CaseForm] = {
        name: form_class(case=case, user=request.user) for name, form_class in FORMS.items()
    }
    forms.update(bound or {})
    return {
        "case": case,
        "entries": present_timeline(
            timeline(case=case, public_only=False), audience=Audience.STAFF
        ),
        "contact_points": contact_points_of(citizen_id=case.citizen_id),
        "linked": linked_cases(case=case),
        "other_cases": citizen_cases(citizen_id=case.citizen_id, exclude_case_id=case.pk),
        "answers": answered_questions(case=case),
        "reply_channel": reply_channel(case),
        "unreachable": "" if _reachable(forms["reply_form"]) else unreachable_notice(case),
        "now": now(),
        "sla_panel": sla_panel(case=case, now=now()),
        **forms,
    }


def _reachable(form: CaseForm) -> bool:
    return bool(form.routes) if isinstance(form, ReplyForm) else True


@login_required
@require_GET
def case_page(request: StaffRequest, reference: str) -> HttpResponse:
    case = case_or_404(request, reference)
    return render(request, TEMPLATE, {**frame_context(request), **case_context(request, case)})


@login_required
@require_GET
def case_timeline(request: StaffRequest, reference: str) -> HttpResponse:
    """The timeline partial with the summary out of band, for live updates."""
    case = case_or_404(request, reference)
    context = {
        "case": case,
        "entries": present_timeline(
            timeline(case=case, public_only=False), audience=Audience.STAFF
        ),
        "linked": linked_cases(case=case),
        "now": now(),
    }
    if not wants_fragment(request):
        return render(request, f"{TEMPLATE}#timeline", context)
    return fragments(request, TEMPLATE, context, main="timeline", oob=["case-summary"])


# Served inline, a message's own image can run nothing and load nothing.
INLINE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


@login_required
@require_GET
def attachment_download(request: StaffRequest, reference: str, attachment_id: int) -> FileResponse:
    """The stored file, as a download: an uploaded HTML file must never render here. With
    `?inline=1`, an image of a raster type the message shows inside its HTML is served
    inline instead (same access check), under a policy that lets it run and load nothing."""
    try:
        attachment = access_attachment_by_id(
            request.user, reference=reference, attachment_id=attachment_id
        )
        handle = attachment.file.open("rb")
    except (NotFound, FileNotFoundError) as exc:
        raise Http404("No such attachment.") from exc
    inline = request.GET.get("inline") == "1" and shows_inline(attachment.content_type)
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=attachment.filename,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    if inline:
        response["Content-Security-Policy"] = INLINE_POLICY
        response["Cache-Control"] = "private, max-age=3600"
    return response
