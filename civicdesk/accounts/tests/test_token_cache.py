"""API token checks are cached per process: cheap, bounded, and revocation is honoured."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from civicdesk.accounts.models import ApiToken
from civicdesk.accounts.services import (
    authenticate_api_key,
    create_api_token,
    revoke_api_token,
)
from civicdesk.accounts.token_cache import TokenCache, tokens
from civicdesk.core.clock import now
from civicdesk.core.tokens import digest


def test_a_cached_token_check_costs_no_query(riverton: Any, django_assert_num_queries: Any) -> None:
    issued = create_api_token(email=riverton.ann.email)
    with django_assert_num_queries(2):  # the lookup, and recording its first use
        first = authenticate_api_key(key=issued.key)
    with django_assert_num_queries(0):
        again = authenticate_api_key(key=issued.key)

    assert first is not None
    assert again is not None
    assert (again.user, again.token_id) == (riverton.ann, issued.token.pk)
    assert again.user is not first.user  # each caller gets its own copy of the user
    # Keyed by the key's digest; the key itself is never kept.
    assert digest(issued.key) in tokens
    assert issued.key not in tokens


def test_a_token_revoked_through_the_service_stops_working_at_once(riverton: Any) -> None:
    issued = create_api_token(email=riverton.ann.email)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issued.key}")
    assert client.get("/api/v1/cases").status_code == 200  # now cached

    revoke_api_token(token=issued.token)

    assert authenticate_api_key(key=issued.key) is None
    refused = client.get("/api/v1/cases")
    assert refused.status_code == 401
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is not None


def test_a_token_revoked_by_another_process_stops_working_within_the_ttl(
    riverton: Any, settings: Any
) -> None:
    settings.CIVICDESK_API_TOKEN_CACHE_SECONDS = 0.3
    issued = create_api_token(email=riverton.ann.email)
    assert authenticate_api_key(key=issued.key) is not None
    # Another process revokes it: this one's cache does not hear of it...
    ApiToken.objects.filter(pk=issued.token.pk).update(revoked_at=now())
    assert authenticate_api_key(key=issued.key) is not None
    time.sleep(0.35)
    # ...until its entry expires.
    assert authenticate_api_key(key=issued.key) is None


@pytest.mark.django_db
def test_unknown_keys_are_not_cached() -> None:
    assert authenticate_api_key(key="cd_not-a-token") is None
    assert len(tokens) == 0


def test_the_cache_is_bounded_and_drops_the_least_recently_used() -> None:
    cache = TokenCache(size=2)
    cache.put("a", token_id=1, user_id=1, value="A")
    cache.put("b", token_id=2, user_id=1, value="B")
    assert cache.get("a") is not None  # "a" was used last
    cache.put("c", token_id=3, user_id=2, value="C")

    assert ("a" in cache, "b" in cache, "c" in cache) == (True, False, True)
    cache.forget_user(1)
    assert ("a" in cache, len(cache)) == (False, 1)


def test_a_token_revoked_while_a_request_looks_it_up_is_not_put_back_in_the_cache(
    riverton: Any,
) -> None:
    from django.db import connection

    issued = create_api_token(email=riverton.ann.email)
    revoked: list[bool] = []

    def revoke_right_after_the_lookup(execute: Any, sql: str, *args: Any) -> Any:
        result = execute(sql, *args)
        if "accounts_apitoken" in sql and sql.lstrip().startswith("SELECT") and not revoked:
            revoked.append(True)  # the revocation lands between the read and the caching
            revoke_api_token(token=ApiToken.objects.get(pk=issued.token.pk))
        return result

    with connection.execute_wrapper(revoke_right_after_the_lookup):
        in_flight = authenticate_api_key(key=issued.key)

    assert in_flight is not None  # it read the token before the revocation
    assert digest(issued.key) not in tokens
    assert authenticate_api_key(key=issued.key) is None
