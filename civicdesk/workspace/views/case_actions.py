"""What agents do on a case. Each POST has its own URL and calls one service.

Success: 303 back to the case (post/redirect/get) or, for htmx, the fresh form with the summary,
timeline and workflow forms swapped out of band. Refusal: the form again with the reason, status
400 (input not understood) or 422 (the domain said no), and nothing changed.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from civicdesk.cases.services import (
    add_internal_note,
    assign_case,
    change_case_status,
    reply_to_case,
    restore_contact_point,
)
from civicdesk.core.errors import DomainError
from civicdesk.workspace.forms import (
    AssignForm,
    CaseForm,
    NoteForm,
    ReplyForm,
    StatusForm,
    status_label,
)
from civicdesk.workspace.views.case import TEMPLATE, case_context, case_or_404
from civicdesk.workspace.views.page import (
    SeeOther,
    StaffRequest,
    fragments,
    frame_context,
    wants_fragment,
)

# Partials refreshed out of band after any action; typed text is never among them.
REFRESHED = ("case-summary", "timeline", "status-form", "assign-form")


@login_required
@require_POST
def reply(request: StaffRequest, reference: str) -> HttpResponse:
    case = case_or_404(request, reference)
    form = ReplyForm(request.POST, request.FILES, case=case, user=request.user)
    if not form.is_valid():
        return _refused(request, form, "reply_form")
    channel, account = form.chosen_route()
    try:
        sent = reply_to_case(
            case=case,
            author=request.user,
            body=form.cleaned_data["body"],
            attachments=form.new_attachments(),
            channel=channel,
            account=account,
        )
    except DomainError as exc:
        return _refused(request, form, "reply_form", error=exc)
    message = f"Reply sent to the citizen by {sent.channel_label}."
    return _done(request, reference, "reply_form", message)


@login_required
@require_POST
def note(request: StaffRequest, reference: str) -> HttpResponse:
    case = case_or_404(request, reference)
    form = NoteForm(request.POST, case=case, user=request.user)
    if not form.is_valid():
        return _refused(request, form, "note_form")
    try:
        add_internal_note(case=case, author=request.user, body=form.cleaned_data["body"])
    except DomainError as exc:
        return _refused(request, form, "note_form", error=exc)
    return _done(request, reference, "note_form", "Internal note added.")


@login_required
@require_POST
def status(request: StaffRequest, reference: str) -> HttpResponse:
    case = case_or_404(request, reference)
    form = StatusForm(request.POST, case=case, user=request.user)
    if not form.is_valid():
        return _refused(request, form, "status_form")
    try:
        changed = change_case_status(case=case, status=form.cleaned_data["status"], by=request.user)
    except DomainError as exc:
        return _refused(request, form, "status_form", error=exc)
    return _done(
        request, reference, "status_form", f"Status changed to {status_label(changed.status)}."
    )


@login_required
@require_POST
def assign(request: StaffRequest, reference: str) -> HttpResponse:
    case = case_or_404(request, reference)
    form = AssignForm(request.POST, case=case, user=request.user)
    if not form.is_valid():
        return _refused(request, form, "assign_form")
    try:
        assigned = assign_case(
            case=case,
            assignee=form.cleaned_data["assignee"],
            by=request.user,
            queue=form.cleaned_data["queue"],
        )
    except DomainError as exc:
        return _refused(request, form, "assign_form", error=exc)
    who = assigned.assignee_name or "nobody"
    where = f" in {assigned.queue_name}" if assigned.queue_name else ""
    return _done(request, reference, "assign_form", f"Assigned to {who}{where}.")


@login_required
@require_POST
def contact_point_deliverable(
    request: StaffRequest, reference: str, contact_point_id: int
) -> HttpResponse:
    """The agent checked an address marked undeliverable: replies may take it again."""
    case = case_or_404(request, reference)
    try:
        restore_contact_point(case=case, contact_point_id=contact_point_id, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Replies may take that address again.")
    return SeeOther(reverse("workspace:case", args=[reference]))


def _partial(form_name: str) -> str:
    return form_name.replace("_", "-")


def _refused(
    request: StaffRequest, form: CaseForm, form_name: str, *, error: DomainError | None = None
) -> HttpResponse:
    """The form again with what was wrong; the case is read afresh, as nothing was saved."""
    code = 400
    if error is not None:
        form.add_error(None, error.message)
        code = 422
    case = case_or_404(request, form.case.reference)
    context = case_context(request, case, bound={form_name: form})
    if wants_fragment(request):
        return fragments(request, TEMPLATE, context, main=_partial(form_name), status=code)
    return render(request, TEMPLATE, {**frame_context(request), **context}, status=code)


def _done(request: StaffRequest, reference: str, form_name: str, message: str) -> HttpResponse:
    if not wants_fragment(request):
        messages.success(request, message)
        return SeeOther(reverse("workspace:case", args=[reference]))
    case = case_or_404(request, reference)
    main = _partial(form_name)
    return fragments(
        request,
        TEMPLATE,
        case_context(request, case),
        main=main,
        oob=[name for name in REFRESHED if name != main],
        announce=message,
    )
