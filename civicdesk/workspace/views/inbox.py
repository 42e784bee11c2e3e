"""The inbox: tabs, filters, a sortable, paginated list that live updates refresh."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from civicdesk.cases.selectors import inbox_page
from civicdesk.core.clock import now
from civicdesk.workspace.forms import SORT_LABELS, VIEW_LABELS, InboxFilterForm
from civicdesk.workspace.views.page import StaffRequest, fragments, frame_context, wants_fragment

TEMPLATE = "workspace/inbox.html"
CAPTIONS = {
    "mine": "Cases assigned to you",
    "team": "Cases in your teams' queues",
    "unassigned": "Cases nobody is assigned to",
    "all": "All cases",
}


@login_required
@require_GET
def inbox(request: StaffRequest) -> HttpResponse:
    """Whole page, or for htmx the list partial plus the tab counts swapped out of band.

    A constant number of queries whatever the page size: session, user, counts, the filter
    choices (services, queues), the page count and the rows with their relations.
    """
    form = InboxFilterForm(request.GET)
    filters = form.filters()
    page = inbox_page(
        user=request.user,
        filters=filters,
        page=_page_number(request.GET.get("page")),
        per_page=form.page_size(),
    )
    context = {
        **frame_context(request),
        "form": form,
        "filters": filters,
        "page": page,
        "view": form.view_name,
        "view_label": VIEW_LABELS[form.view_name],
        "caption": CAPTIONS[form.view_name],
        "sort_label": SORT_LABELS[filters.sort],
        "now": now(),
    }
    if wants_fragment(request):
        return fragments(
            request,
            TEMPLATE,
            context,
            main="inbox-list",
            oob=["workspace/base.html#inbox-tabs"],
            announce=_what_changed(request, page.paginator.count, page.number),
        )
    response = render(request, TEMPLATE, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _what_changed(request: StaffRequest, total: int, number: int) -> str:
    """Words for the live region when the agent changed the list (not on live refreshes)."""
    if request.htmx.trigger == "inbox-filters":
        return f"{total} case{'s' if total != 1 else ''} found."
    if request.htmx.trigger in ("page-prev", "page-next"):
        return f"Page {number}."
    return ""


def _page_number(value: str | None) -> int:
    try:
        return max(int(value or 1), 1)
    except ValueError:
        return 1
