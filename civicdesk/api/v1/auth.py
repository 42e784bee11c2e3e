"""Bearer-token authentication for the API: `Authorization: Bearer <token>`.

The token check is cached per process (see `accounts.token_cache`): a revoked token stops
working at once in the process that revoked it and within 30 s in the others.
"""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest
from ninja.security import HttpBearer

from civicdesk.accounts.models import User
from civicdesk.accounts.services import ApiCaller, authenticate_api_key


class ApiTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiCaller | None:
        if not token or len(token) > 200:
            return None
        return authenticate_api_key(key=token)


def request_caller(request: HttpRequest) -> ApiCaller:
    return cast(ApiCaller, request.auth)  # type: ignore[attr-defined]


def request_user(request: HttpRequest) -> User:
    """The member of staff whose token authenticated this request."""
    return request_caller(request).user


def integration_scope(request: HttpRequest) -> str:
    """Whose `external_id`s these are: the token's, so that integrations never collide."""
    return f"token:{request_caller(request).token_id}"
