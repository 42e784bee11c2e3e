"""Error answers for the API's addresses: JSON with a `detail`, like every other API error.

Django's page handlers call these for the whole site; addresses outside /api/ get the site's
HTML pages as before. Bodies over the limit (413) and overload (503) are answered earlier, by
the serving stack.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": f"No API endpoint at {request.path}."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            {"detail": "Something went wrong on our side; it was logged. Try again later."},
            status=500,
        )
    return defaults.server_error(request)


def json_method_not_allowed(response: HttpResponse, request: HttpRequest) -> HttpResponse:
    """The API's 405 as JSON, keeping its Allow header."""
    allowed = response.get("Allow", "")
    json_response = JsonResponse(
        {"detail": f"{request.method} is not allowed here; allowed: {allowed}."}, status=405
    )
    json_response["Allow"] = allowed
    return json_response
