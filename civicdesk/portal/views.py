"""Citizen pages: the services, a request form, and a request's private status page.

Every journey works without JavaScript. Views parse a form, hand the result to the channels
framework as a portal payload, and render; the domain decides what the request becomes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from civicdesk.cases.selectors import (
    case_by_status_token,
    public_attachment,
    timeline,
)
from civicdesk.cases.services import request_status_links
from civicdesk.catalogue.selectors import groups_with_services, service_with_attributes
from civicdesk.channels.selectors import (
    PayloadStatus,
    pending_payload_by_token_digest,
    processing_runs_inline,
)
from civicdesk.channels.services import Acceptance, accept_inbound
from civicdesk.core.tokens import digest, new_token
from civicdesk.portal import case_display, throttling
from civicdesk.portal.forms import LinkResendForm, ReplyForm, RequestForm, new_submission_id
from civicdesk.portal.payloads import CHANNEL, reply_payload, request_payload

ResponseT = TypeVar("ResponseT", bound=HttpResponseBase)

if TYPE_CHECKING:  # views reach cases through selectors; the model is named for types only
    from civicdesk.cases.models import Case


class HttpResponseSeeOther(HttpResponseRedirect):
    """303: after a POST, the browser fetches the next page with GET."""

    status_code = 303


def _private(response: ResponseT) -> ResponseT:
    """A page whose address holds a secret token: not indexed, not cached, not sent on.

    `strict-origin`, not `no-referrer`: both keep the token out of every Referer header, but
    under `no-referrer` browsers send `Origin: null` with the page's own form posts (reply,
    language switch), which Django's CSRF check rightly refuses.
    """
    response.headers["Referrer-Policy"] = "strict-origin"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    add_never_cache_headers(response)
    return response


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/not_found.html", status=404)


def _received(request: HttpRequest, acceptance: Acceptance, *, back_url: str = "") -> HttpResponse:
    """Stored but not processed: the citizen gets the payload number, staff get the payload."""
    context = {"payload_id": acceptance.payload.pk, "back_url": back_url}
    if back_url:
        context["language_next"] = back_url
    return render(request, "portal/received.html", context, status=202)


def _status_url(token: str) -> str:
    return reverse("portal:status", args=[token])


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {"groups": groups_with_services()})


@require_http_methods(["GET", "POST"])
def request_form(request: HttpRequest, code: str) -> HttpResponse:
    language = get_language()
    if request.method != "POST":
        service = service_with_attributes(code=code)
        if service is None:
            return _not_found(request)
        form = RequestForm(
            service=service,
            language=language,
            initial={"submission_id": new_submission_id(), "status_token": new_token(24)},
        )
        return render(request, "portal/request_form.html", {"service": service, "form": form})

    # A service withdrawn after the form was shown still takes the submission: intake records
    # why it could not be processed and staff follow up, so nothing the citizen typed is lost.
    service = service_with_attributes(code=code, include_inactive=True)
    if service is None:
        return _not_found(request)
    form = RequestForm(request.POST, request.FILES, service=service, language=language)
    if not form.is_valid():
        context = {"service": service, "form": form}
        return render(request, "portal/request_form.html", context, status=400)
    # Acknowledged once stored, with the reference the citizen can quote; a worker opens the
    # case. The status page finds the request by the citizen's token, case or not yet.
    accept_inbound(
        channel=CHANNEL,
        raw=request_payload(form=form, language=language),
        reserve_reference=True,
    )
    return HttpResponseSeeOther(f"{_status_url(form.cleaned_data['status_token'])}?new=1")


def _status_page(
    request: HttpRequest, case: Case, token: str, form: ReplyForm, *, status: int = 200
) -> HttpResponse:
    language = get_language()
    context = {
        "case": case,
        "status_label": case_display.status_label(case.status),
        "answers": case_display.answered_questions(case=case, language=language),
        "entries": case_display.timeline_entries(timeline(case=case, public_only=True)),
        "form": form,
        "is_new": request.GET.get("new") == "1",
        "private_link": request.build_absolute_uri(_status_url(token)),
        "reply_url": reverse("portal:reply", args=[token]),
        "token": token,
        # A refused reply is rendered at the reply address, which only takes POST: the
        # language switch returns to the status page itself.
        "language_next": _status_url(token),
    }
    return _private(render(request, "portal/status.html", context, status=status))


# How often the page for a request not yet routed reloads itself (a browser that honours
# meta refresh); the plain "refresh" link does the same without it.
PENDING_REFRESH_SECONDS = 5


def _pending_page(request: HttpRequest, token: str) -> HttpResponse:
    """A request acknowledged but not yet a case: its reference and what happens next.

    A request that failed processing reads "received; our staff will look at it", never an
    error: it is stored, and staff replay it."""
    pending = pending_payload_by_token_digest(digest(token))
    if pending is None:
        return _private(_not_found(request))
    context = {
        "reference": pending.reference,
        "needs_staff": pending.status == PayloadStatus.FAILED,
        "is_new": request.GET.get("new") == "1",
        "private_link": request.build_absolute_uri(_status_url(token)),
        "refresh_url": _status_url(token),
        "refresh_seconds": PENDING_REFRESH_SECONDS,
        "language_next": _status_url(token),
    }
    return _private(render(request, "portal/status_pending.html", context))


@require_GET
def status(request: HttpRequest, token: str) -> HttpResponse:
    case = case_by_status_token(token)
    if case is None:
        return _pending_page(request, token)
    form = ReplyForm(
        accepts_contact=case.accepts_contact, initial={"submission_id": new_submission_id()}
    )
    return _status_page(request, case, token, form)


@require_http_methods(["GET", "POST"])
def reply(request: HttpRequest, token: str) -> HttpResponse:
    """A reply from the status page; the address opened directly (reload, back, a language
    switch from an older page) leads to the status page rather than a bare 405."""
    case = case_by_status_token(token)
    if case is None:
        return _private(_not_found(request))
    if request.method != "POST":
        return _private(HttpResponseSeeOther(_status_url(token)))
    form = ReplyForm(request.POST, request.FILES, accepts_contact=case.accepts_contact)
    if not form.is_valid():
        return _status_page(request, case, token, form, status=400)
    # Acknowledged once stored; a worker adds it to the case's history moments later.
    acceptance = accept_inbound(
        channel=CHANNEL,
        raw=reply_payload(
            form=form, status_token_digest=case.status_token_digest, language=get_language()
        ),
    )
    stored = acceptance.payload
    if processing_runs_inline():
        stored.refresh_from_db()  # processed on commit already (tests, development)
    if stored.status == PayloadStatus.FAILED:
        return _private(_received(request, acceptance, back_url=_status_url(token)))
    if stored.status == PayloadStatus.PROCESSED:
        messages.success(request, _("Thank you. Your message has been added to your request."))
    else:
        messages.success(
            request,
            _(
                "Thank you — your message has been received. It will appear in the history "
                "below once it has been filed; refresh this page to see it."
            ),
        )
    return HttpResponseSeeOther(_status_url(token))


@require_GET
def attachment(request: HttpRequest, token: str, attachment_id: int) -> HttpResponseBase:
    """A file from the case's public timeline, always as a download (never rendered here)."""
    case = case_by_status_token(token)
    found = public_attachment(case=case, attachment_id=attachment_id) if case else None
    if found is None:
        return _private(_not_found(request))
    try:
        handle = found.file.open("rb")
    except FileNotFoundError:
        return _private(_not_found(request))
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=found.filename,
        content_type=found.content_type or "application/octet-stream",
    )
    return _private(response)


@require_http_methods(["GET", "POST"])
def resend_links(request: HttpRequest) -> HttpResponse:
    """ "Resend my status link": the citizen types their email address; the links to their
    requests go to that address only. The answer never says whether the address is known:
    known or not, the same page follows (303 to `?sent=1`). Limited per address and per client
    (429 with Retry-After over the limit), before anything is looked up."""
    if request.method != "POST":
        context = {"form": LinkResendForm(), "sent": request.GET.get("sent") == "1"}
        return render(request, "portal/resend_links.html", context)
    form = LinkResendForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/resend_links.html", {"form": form}, status=400)
    email = form.cleaned_data["email"].strip().lower()
    wait = _over_limit("client", request.META.get("REMOTE_ADDR") or "unknown")
    if wait is None:
        wait = _over_limit("address", email)
    if wait is not None:
        response = render(request, "portal/resend_links_wait.html", status=429)
        response.headers["Retry-After"] = throttling.retry_after_header(wait)
        return response
    request_status_links(email=email, language=get_language())
    return HttpResponseSeeOther(reverse("portal:resend_links") + "?sent=1")


def _over_limit(scope: str, subject: str) -> float | None:
    limit = (
        settings.CIVICDESK_LINK_RESEND_PER_CLIENT
        if scope == "client"
        else settings.CIVICDESK_LINK_RESEND_PER_ADDRESS
    )
    return throttling.hit(
        scope=f"resend-links:{scope}",
        subject=subject,
        limit=limit,
        window=settings.CIVICDESK_LINK_RESEND_WINDOW_SECONDS,
    )
