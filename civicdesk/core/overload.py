"""Overload is answered at once with 503 and `Retry-After`, never with a time-out or a 500.

Two sources, one answer:

- **Admission control** (`AdmissionMiddleware`): at most `CIVICDESK_MAX_REQUESTS_IN_FLIGHT`
  requests run in this process at once. One more waits up to `CIVICDESK_ADMISSION_WAIT_SECONDS`
  for a slot, then is refused. The server has more threads than slots, so the refusal is quick
  while the admitted requests keep the database connections they need.
- **The database is saturated**: SQLite still locked after its busy timeout, the connection
  pool empty after its time-out, PostgreSQL out of connection slots (or any other fault that
  `core.transient` names temporary). The caller may simply retry; they are logged as warnings,
  not as server errors.

Under `/api/` the answer is JSON like every API answer; pages get the HTML page `503.html`.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from civicdesk.core.transient import is_transient

log = logging.getLogger("civicdesk.overload")

API_PREFIX = "/api/"


def overload_reason(exc: BaseException) -> str | None:
    """What to log when `exc` is a temporary database fault (core.transient), else None.

    Locked SQLite, an empty pool, no connection slots, a dropped connection, a deadlock: the
    same request succeeds when retried, so the caller is told to retry rather than shown a 500.
    """
    if not is_transient(exc):
        return None
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else 'temporary fault'}"


def overloaded_response(request: HttpRequest, *, reason: str) -> HttpResponse:
    """503 with `Retry-After`: JSON under /api/, the HTML page elsewhere."""
    retry_after = int(settings.CIVICDESK_RETRY_AFTER_SECONDS)
    response: HttpResponse
    if request.path.startswith(API_PREFIX):
        response = JsonResponse(
            {
                "detail": f"CivicDesk is busy; please retry in {retry_after} seconds.",
                "code": "overloaded",
                "retry_after": retry_after,
            },
            status=503,
        )
    else:
        response = HttpResponse(
            render_to_string("503.html", {"retry_after": retry_after}), status=503
        )
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    log.warning("503 for %s %s: %s", request.method, request.path, reason)
    # Logged: Django would log it again as a server ERROR (django.request), as for a 500.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


class AdmissionMiddleware:
    """Bounds the requests in flight in this process; also turns database overload into 503.

    Put it first after the static-files middleware, so that static files never wait for a slot.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.slots = threading.BoundedSemaphore(int(settings.CIVICDESK_MAX_REQUESTS_IN_FLIGHT))
        self.wait = float(settings.CIVICDESK_ADMISSION_WAIT_SECONDS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.slots.acquire(timeout=self.wait):
            return overloaded_response(request, reason="too many requests in flight")
        try:
            return self.get_response(request)
        finally:
            self.slots.release()

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        reason = overload_reason(exception)
        if reason is None:
            return None
        return overloaded_response(request, reason=reason)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an overload raised outside the view (a session save, a middleware) is a 503.

    Django calls it while handling the exception, so `sys.exc_info()` names the cause.
    """
    from django.views.defaults import server_error as default_server_error

    exc = sys.exc_info()[1]
    reason = overload_reason(exc) if exc is not None else None
    if reason is not None:
        return overloaded_response(request, reason=reason)
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            {"detail": "Internal server error; it has been logged.", "code": "server_error"},
            status=500,
        )
    return default_server_error(request)
