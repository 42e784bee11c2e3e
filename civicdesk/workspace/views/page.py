"""What every workspace response shares: the typed request, the page frame, htmx answers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers

from civicdesk.cases.selectors import inbox_counts
from civicdesk.workspace.forms import VIEW_LABELS

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from civicdesk.accounts.models import User


class StaffRequest(HttpRequest):
    """A request past `login_required`: every signed-in user is a member of staff."""

    user: User
    htmx: HtmxDetails


class SeeOther(HttpResponseRedirect):
    """303: after a POST the browser fetches the next page with GET (post/redirect/get)."""

    status_code = 303


def wants_fragment(request: StaffRequest) -> bool:
    """An htmx request that swaps part of the page (not a history restore of a whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def frame_context(request: StaffRequest) -> dict[str, Any]:
    """The base template's needs: the inbox tabs with their counts (one query)."""
    counts = inbox_counts(user=request.user)
    return {"tabs": [(key, label, counts[key]) for key, label in VIEW_LABELS.items()]}


def fragments(
    request: StaffRequest,
    template: str,
    context: Mapping[str, Any],
    *,
    main: str,
    oob: Iterable[str] = (),
    status: int = 200,
    announce: str = "",
    events: Iterable[str] = (),
) -> HttpResponse:
    """The `main` partial of `template`, then `oob` partials swapped out of band by id.

    A partial named "other.html#name" comes from that template instead.
    """

    def qualified(name: str) -> str:
        return name if "#" in name else f"{template}#{name}"

    html = [render_to_string(qualified(main), {**context, "oob": False}, request)]
    html += [render_to_string(qualified(name), {**context, "oob": True}, request) for name in oob]
    response = HttpResponse("".join(html), status=status)
    triggers: dict[str, Any] = dict.fromkeys(events, True)
    if announce:
        triggers["announce"] = {"message": announce}
    if triggers:
        response["HX-Trigger"] = json.dumps(triggers)
    patch_vary_headers(response, ["HX-Request"])
    return response
