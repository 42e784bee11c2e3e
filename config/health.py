"""A liveness check for load balancers and process managers: no database, no session."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def health(request: HttpRequest) -> HttpResponse:
    """200 "ok" while this process can answer a request (what a load balancer polls)."""
    return HttpResponse(b"ok", content_type="text/plain")
