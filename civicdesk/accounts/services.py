"""Writes on staff, teams and tokens."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from civicdesk.accounts.models import ApiToken, User
from civicdesk.core.clock import now
from civicdesk.core.errors import NotFound
from civicdesk.core.tokens import digest, new_token

TOKEN_USE_GRANULARITY = timedelta(minutes=5)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # shown once, never stored


def create_api_token(*, email: str, name: str = "cli") -> IssuedToken:
    try:
        user = User.objects.get(email__iexact=email.strip(), is_active=True)
    except User.DoesNotExist:
        raise NotFound(f"No active staff user with email {email!r}") from None
    key = f"cd_{new_token(30)}"
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:8], key_digest=digest(key))
    return IssuedToken(token=token, key=key)


def authenticate_api_token(*, key: str) -> User | None:
    """The active user behind a bearer key, or None; marks the token used."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_digest=digest(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    # Recorded to within a few minutes: a write on every API call would cost more than it tells.
    moment = now()
    if token.last_used_at is None or moment - token.last_used_at > TOKEN_USE_GRANULARITY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=moment)
    return token.user


def mark_assigned(*, agent: User) -> None:
    """Record that an agent just received a case, which moves them to the back of the rota."""
    User.objects.filter(pk=agent.pk).update(last_assigned_at=now())


def mark_assigned_at(*, assigned: Mapping[int, datetime]) -> None:
    """`mark_assigned` for many agents at once (agent id → when): one UPDATE."""
    if not assigned:
        return
    User.objects.bulk_update(
        [User(pk=pk, last_assigned_at=at) for pk, at in assigned.items()], ["last_assigned_at"]
    )


def set_availability(*, agent: User, is_available: bool) -> None:
    """Record whether an agent takes new cases from the rota. Callers hand out waiting work."""
    User.objects.filter(pk=agent.pk).update(is_available=is_available)
    agent.is_available = is_available
