"""Writes on staff, teams and tokens."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from civicdesk.accounts.models import ApiToken, User
from civicdesk.accounts.token_cache import tokens
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


@dataclass(frozen=True)
class ApiCaller:
    """Who an API key belongs to: the member of staff and the token (the integration)."""

    user: User
    token_id: int


def authenticate_api_key(*, key: str) -> ApiCaller | None:
    """The active user and token behind a bearer key, or None.

    Cached per process for `token_cache.TOKEN_CACHE_SECONDS` (30 s), keyed by the key's
    digest: a cached call costs no query. `revoke_api_token` forgets the entry in this process
    at once; another process stops accepting a revoked token within the TTL. Use is recorded
    to within `TOKEN_USE_GRANULARITY`, only when the cache misses.
    """
    key_digest = digest(key)
    cached = tokens.get(key_digest)
    if cached is not None:
        entry, user = cached
        # A copy: a request that changes its user object must not change the next one's.
        return ApiCaller(user=copy.copy(user), token_id=entry.token_id)  # type: ignore[arg-type]
    generation = tokens.generation()
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_digest=key_digest, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    # Recorded to within a few minutes: a write on every API call would cost more than it tells.
    moment = now()
    if token.last_used_at is None or moment - token.last_used_at > TOKEN_USE_GRANULARITY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=moment)
    tokens.put(
        key_digest,
        token_id=token.pk,
        user_id=token.user_id,
        value=token.user,
        read_at_generation=generation,
    )
    return ApiCaller(user=copy.copy(token.user), token_id=token.pk)


def authenticate_api_token(*, key: str) -> User | None:
    """The active user behind a bearer key, or None (see `authenticate_api_key`)."""
    caller = authenticate_api_key(key=key)
    return caller.user if caller else None


def revoke_api_token(*, token: ApiToken) -> None:
    """Stop accepting a token: at once in this process, within the cache's TTL in others."""
    moment = now()
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=moment, updated_at=moment
    )
    token.refresh_from_db(fields=["revoked_at"])
    tokens.forget(token.key_digest)


def forget_cached_tokens() -> None:
    """Empty this process's token cache (tests; after bulk changes to tokens or users)."""
    tokens.clear()


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
