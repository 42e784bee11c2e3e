"""Test set-up shared by every test: uploaded files in a temporary folder, no outside network."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests judge results, not speed: a loaded CI machine must not fail them on time.
hypothesis_settings.register_profile("civicdesk", deadline=None, print_blob=True)
hypothesis_settings.load_profile("civicdesk")

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    if isinstance(address, tuple) and self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            is_local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            is_local = host == "localhost"
        if not is_local:
            raise ConnectionRefusedError(f"Tests may only reach loopback, not {host}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _no_outside_network() -> Iterator[None]:
    socket.socket.connect = _loopback_only  # type: ignore[method-assign,assignment]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    """Per-process caches (API tokens, the catalogue for acknowledgements) start empty in each
    test: a test's database is new, the caches' TTLs are not."""
    from civicdesk.accounts.services import forget_cached_tokens
    from civicdesk.catalogue.selectors import forget_cached_services

    forget_cached_tokens()
    forget_cached_services()


@pytest.fixture(autouse=True)
def _postgres_only(request: pytest.FixtureRequest) -> None:
    """`@pytest.mark.postgres_only` tests are skipped on SQLite (the PostgreSQL run has them)."""
    if request.node.get_closest_marker("postgres_only") is None:
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (run with DATABASE_URL pointing at PostgreSQL)")


@pytest.fixture(autouse=True)
def _reference_numbers_restart(request: pytest.FixtureRequest) -> Iterator[None]:
    """PostgreSQL numbers references with sequences, which a test's rollback or flush does not
    reset (the counter row SQLite uses is rolled back): drop them after a test that committed,
    so that each test counts from 1 on both databases."""
    yield
    marker = request.node.get_closest_marker("django_db")
    committed = marker is not None and (
        marker.kwargs.get("transaction") or (marker.args and marker.args[0])
    )
    if not committed and not {"transactional_db", "live_server", "live_asgi"} & set(
        request.fixturenames
    ):
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    blocker = request.getfixturevalue("django_db_blocker")
    with blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relkind = 'S' "
            "AND c.relname LIKE 'civicdesk\\_reference\\_%%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP SEQUENCE IF EXISTS "{name}"')
    # A test that ended other sessions (a simulated server restart) leaves dead connections
    # idle in the pool; the next test must not be handed one.
    if connection.settings_dict.get("OPTIONS", {}).get("pool"):
        connection.close_pool()  # type: ignore[attr-defined]


@pytest.fixture
def riverton(db: None) -> Any:
    """A small city hall: two teams with agents, queues, a calendar, policy and services."""
    from tests.factories import build_riverton

    return build_riverton()


@pytest.fixture
def live_asgi(transactional_db: None, settings: Any) -> Iterator[str]:
    """CivicDesk served over ASGI on loopback (pages, API, WebSockets), on the test database."""
    from tests.browser import serve_asgi

    settings.CIVICDESK_REALTIME_POLL_SECONDS = 0.1
    with serve_asgi() as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, launched as every browser test here launches it."""
    from tests.browser import chromium

    with chromium() as launched:
        yield launched
