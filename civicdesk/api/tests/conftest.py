from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from civicdesk.accounts.services import create_api_token


@pytest.fixture
def base_url(live_server: Any) -> str:
    return f"{live_server.url}/api/v1"


def _client(base_url: str, key: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}", "User-Agent": "riverton-crm/2.1"}
    return httpx.Client(base_url=base_url, headers=headers, timeout=10)


@pytest.fixture
def api(base_url: str, riverton: Any) -> Iterator[httpx.Client]:
    with _client(base_url, create_api_token(email=riverton.supervisor.email, name="crm").key) as c:
        yield c


@pytest.fixture
def other_integration(base_url: str, riverton: Any) -> Iterator[httpx.Client]:
    """A second integration (its own token) of the same body."""
    key = create_api_token(email=riverton.supervisor.email, name="booking").key
    with _client(base_url, key) as client:
        yield client


@pytest.fixture
def deferred_processing(settings: Any) -> None:
    """Tasks wait in the database for a worker, as in production (tests run them at once)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
