"""How the API reports failures: always JSON with a human-readable `detail`.

Registered on the API object in `urls.py`. Domain refusals become 400 (404 for not found),
bodies past the size limit 413, unparsable JSON 400 with the parser's reason, schema
violations 422 listing each field, anything unexpected 500 (logged). Unknown addresses and
wrong methods under /api/ are JSON too (`civicdesk.api.error_views`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from civicdesk.core.errors import DomainError, NotFound, PermissionDenied
from civicdesk.core.overload import overload_reason, overloaded_response

logger = logging.getLogger(__name__)

SCHEMA_MISMATCH = "The request does not match the schema; see `errors`."


def body_too_large_detail() -> str:
    return f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    # ninja prefixes the source and, for a body, the parameter name: ("body", "payload", ...),
    # ("query", "limit"). Callers know fields by name; "(body)" is the body as a whole.
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[2:]
    elif parts and parts[0] in ("query", "path"):
        parts = parts[1:]
    return ".".join(str(part) for part in parts) or "(body)"


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {"field": _field(error["loc"]), "message": str(error["msg"]), "type": str(error["type"])}
        for error in errors
    ]


def install_error_handlers(api: NinjaAPI) -> None:
    def json_error(request: HttpRequest, status: int, **content: Any) -> HttpResponse:
        return api.create_response(request, content, status=status)

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return json_error(request, 413, detail=body_too_large_detail())

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        detail = str(exc)
        # ninja wraps the JSON parser's error; its reason is what the caller needs to fix.
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
            detail = f"The request body is not valid JSON: {exc.__cause__}"
        return json_error(request, exc.status_code, detail=detail)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = json_error(
            request, 401, detail="A valid API token is required: Authorization: Bearer <token>."
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(ValidationError)
    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return json_error(request, 422, detail=SCHEMA_MISMATCH, errors=field_errors(exc.errors))

    @api.exception_handler(DomainError)
    def refused(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return json_error(request, 400, detail=exc.message, code=exc.code)

    @api.exception_handler(NotFound)
    def not_found(request: HttpRequest, exc: NotFound) -> HttpResponse:
        return json_error(request, 404, detail=exc.message, code=exc.code)

    @api.exception_handler(Exception)
    def failed(request: HttpRequest, exc: Exception) -> HttpResponse:
        # A temporary database fault (locked, pool empty, connection dropped) is overload:
        # 503 with Retry-After, so the caller retries instead of seeing a failure.
        reason = overload_reason(exc)
        if reason is not None:
            return overloaded_response(request, reason=reason)
        # Logged as Django logs a server error; the caller gets JSON, never an HTML page.
        logger.error(
            "Internal Server Error: %s", request.path, exc_info=exc, extra={"request": request}
        )
        return json_error(
            request, 500, detail="Something went wrong on our side; it was logged. Try again later."
        )

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return json_error(request, 403, detail=exc.message, code=exc.code)
