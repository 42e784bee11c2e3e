"""Presence: Available receives new cases (and waiting ones at once), Away receives none."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from civicdesk.cases.services import set_agent_available
from civicdesk.workspace.views.page import SeeOther, StaffRequest, fragments, wants_fragment


@login_required
@require_POST
def presence(request: StaffRequest) -> HttpResponse:
    choice = request.POST.get("is_available")
    if choice not in ("0", "1"):
        return HttpResponseBadRequest("is_available must be 1 (Available) or 0 (Away).")
    is_available = choice == "1"
    handed = set_agent_available(agent=request.user, is_available=is_available)
    message = "You are now Available." if is_available else "You are now Away."
    if handed:
        message += f" {handed} waiting case{'s' if handed != 1 else ''} assigned to you."
    if wants_fragment(request):
        return fragments(
            request,
            "workspace/base.html",
            {"user": request.user, "next_url": request.htmx.current_url_abs_path or ""},
            main="presence",
            announce=message,
            events=["cases-changed"] if handed else (),
        )
    messages.success(request, message)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = resolve_url("workspace:inbox")
    return SeeOther(target)
