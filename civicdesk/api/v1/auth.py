"""Bearer-token authentication for the API: `Authorization: Bearer <token>`."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest
from ninja.security import HttpBearer

from civicdesk.accounts.models import User
from civicdesk.accounts.services import authenticate_api_token


class ApiTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        if not token or len(token) > 200:
            return None
        return authenticate_api_token(key=token)


def request_user(request: HttpRequest) -> User:
    """The member of staff whose token authenticated this request."""
    return cast(User, request.auth)  # type: ignore[attr-defined]
