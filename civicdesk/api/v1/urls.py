"""API v1, mounted at /api/v1/: OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern
from ninja import NinjaAPI

from civicdesk.api.error_views import json_method_not_allowed
from civicdesk.api.v1 import cases, contacts
from civicdesk.api.v1.auth import ApiTokenAuth
from civicdesk.api.v1.errors import install_error_handlers

api_v1 = NinjaAPI(
    title="CivicDesk API",
    version="1",
    urls_namespace="api-v1",
    description=(
        "Contacts from integrations and case work for staff tools. Every call needs "
        "`Authorization: Bearer <token>` (create one with `civicdesk token create --user EMAIL`). "
        "Errors are JSON with a `detail` message, whatever the status. A contact is "
        "acknowledged as soon as it is stored (202, with its case reference and a status URL) "
        "and routed by a worker moments later."
    ),
    auth=ApiTokenAuth(),
)
install_error_handlers(api_v1)
api_v1.add_router("", contacts.router)
api_v1.add_router("", cases.router)


def _json_405(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return json_method_not_allowed(response, request)
        return response

    return wrapped


def api_v1_urls() -> tuple[list[Any], str, str]:
    """The API's URL patterns, their 405 answers in JSON like every other error."""
    patterns, app_name, namespace = api_v1.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _json_405(pattern.callback)
    return patterns, app_name, namespace
