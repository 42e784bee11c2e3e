"""Overload is answered 503 with Retry-After, at once: each condition is forced for real.

- too many requests in flight: real threads hold the admission slots;
- SQLite still locked after the busy timeout: another connection holds the write lock;
- PostgreSQL pool exhausted: the one pooled connection of a granian process waits on a table
  lock the test holds, and the next request finds the pool empty;
- PostgreSQL out of connection slots: the server refuses the process's role.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from civicdesk.core.overload import AdmissionMiddleware, overload_reason
from civicdesk.core.tests.processes import (
    command_env,
    database_env_for_children,
    stop_process,
    wait_for,
)
from tests.browser import free_port
from tests.factories import PASSWORD, UserFactory


def test_requests_over_the_admission_limit_get_503_quickly(settings: Any) -> None:
    settings.CIVICDESK_MAX_REQUESTS_IN_FLIGHT = 2
    settings.CIVICDESK_ADMISSION_WAIT_SECONDS = 0.2
    settings.CIVICDESK_RETRY_AFTER_SECONDS = 3
    release = threading.Event()
    entered = threading.Semaphore(0)

    def slow_view(request: HttpRequest) -> HttpResponse:
        entered.release()
        release.wait(10)
        return HttpResponse("done")

    middleware = AdmissionMiddleware(slow_view)
    factory = RequestFactory()
    answers: list[int] = []
    holders = [
        threading.Thread(target=lambda: answers.append(middleware(factory.get("/")).status_code))
        for _ in range(2)
    ]
    for holder in holders:
        holder.start()
    for _ in holders:
        assert entered.acquire(timeout=5)
    try:
        started = time.monotonic()
        api = middleware(factory.get("/api/v1/cases"))
        page = middleware(factory.get("/workspace/"))
        took = time.monotonic() - started
    finally:
        release.set()
        for holder in holders:
            holder.join(5)

    assert took < 1.5  # two waits of 0.2 s, not the slow view's 10 s
    assert (api.status_code, api["Retry-After"], api["Content-Type"]) == (
        503,
        "3",
        "application/json",
    )
    assert json.loads(api.content)["code"] == "overloaded"
    assert page.status_code == 503
    assert page["Retry-After"] == "3"
    assert "<h1>We are very busy right now</h1>" in page.content.decode()
    assert answers == [200, 200]
    # The slots came back: the next request is served.
    assert middleware(factory.get("/")).status_code == 200


def test_only_overload_errors_are_taken_for_overload() -> None:
    from django.db import IntegrityError, OperationalError

    locked = OperationalError("database is locked")
    assert overload_reason(locked) == "OperationalError: database is locked"
    assert overload_reason(OperationalError("no such table: cases_case")) is None
    assert overload_reason(IntegrityError("database is locked")) is None
    assert overload_reason(ValueError("database is locked")) is None


@contextmanager
def _sqlite_write_lock(path: str) -> Iterator[None]:
    holder = sqlite3.connect(path, isolation_level=None, timeout=5)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.rollback()
        holder.close()


def _login_form(client: httpx.Client) -> dict[str, str]:
    page = client.get("/workspace/login/")
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert match, page.text[:300]
    return {"csrfmiddlewaretoken": match.group(1)}


@pytest.mark.django_db(transaction=True)
def test_a_write_still_locked_after_the_busy_timeout_is_503_not_500(
    live_server: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's write lock")
    from civicdesk.accounts.services import create_api_token

    user = UserFactory.create(email="ana@riverton.example")
    key = create_api_token(email=user.email, name="crm").key
    # Connections opened from now on (the live server's) give up on the lock after 0.1 s.
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.1)
    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        form = _login_form(client)
        with _sqlite_write_lock(str(connection.settings_dict["NAME"])):
            started = time.monotonic()
            page = client.post(
                "/workspace/login/",
                data={**form, "username": user.email, "password": PASSWORD},
                headers={"Referer": f"{live_server.url}/workspace/login/"},
            )
            api = client.post(
                "/api/v1/contacts",
                json={"external_id": "x-1", "body": "Streetlight out"},
                headers={"Authorization": f"Bearer {key}"},
            )
            took = time.monotonic() - started

        assert page.status_code == 503, page.text[:500]
        assert page.headers["Retry-After"] == "2"
        assert "<h1>We are very busy right now</h1>" in page.text
        assert api.status_code == 503, api.text[:500]
        assert api.headers["Retry-After"] == "2"
        assert api.json()["code"] == "overloaded"
        assert took < 5
        assert "503 for POST /workspace/login/: OperationalError: database is locked" in caplog.text
        # Once the lock is gone the same login goes through.
        again = client.post(
            "/workspace/login/",
            data={**_login_form(client), "username": user.email, "password": PASSWORD},
            headers={"Referer": f"{live_server.url}/workspace/login/"},
        )
        assert again.status_code == 302


def _postgres_admin() -> Any:
    import psycopg

    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"] or "postgres",
        dbname=db["NAME"],
        autocommit=True,
    )


@contextmanager
def _granian(tmp_path: Path, **env: str) -> Iterator[str]:
    """config.wsgi under granian on the test database, with `env` on top."""
    port = free_port()
    child_env = command_env(tmp_path, **{**database_env_for_children(), **env})
    argv = [sys.executable, "-m", "granian", "--interface", "wsgi", "--port", str(port)]
    argv += ["--blocking-threads", "8", "--log-level", "error", "config.wsgi:application"]
    log = tmp_path / f"granian-{port}.log"
    with log.open("wb") as output:
        server = subprocess.Popen(argv, env=child_env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(url), timeout=30, what="granian")
        yield url
    finally:
        stop_process(server)
        if "Traceback" in log.read_text():
            sys.stderr.write(log.read_text())


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.django_db(transaction=True)
def test_an_exhausted_connection_pool_is_503_with_retry_after(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's connection pool")
    pool = {
        "CIVICDESK_DB_POOL_MIN_SIZE": "1",
        "CIVICDESK_DB_POOL_MAX_SIZE": "1",
        "CIVICDESK_DB_POOL_TIMEOUT_SECONDS": "1",
    }
    with _granian(tmp_path, **pool) as url, _postgres_admin() as admin:
        # The first request takes the pool's only connection and waits on the session table.
        admin.execute("BEGIN")
        admin.execute("LOCK TABLE django_session IN ACCESS EXCLUSIVE MODE")
        first: list[httpx.Response] = []
        holder = threading.Thread(
            target=lambda: first.append(
                httpx.get(f"{url}/workspace/", cookies={"sessionid": "x" * 32}, timeout=20)
            )
        )
        holder.start()
        time.sleep(0.5)
        try:
            started = time.monotonic()
            api = httpx.get(
                f"{url}/api/v1/cases", headers={"Authorization": "Bearer cd_nope"}, timeout=10
            )
            took = time.monotonic() - started
        finally:
            admin.execute("ROLLBACK")
            holder.join(20)

    assert api.status_code == 503, api.text[:500]
    assert api.headers["Retry-After"] == "2"
    assert api.json()["code"] == "overloaded"
    assert took < 4  # the pool's 1 s time-out, not a hang
    assert first[0].status_code == 302  # the waiting request finished normally


@pytest.mark.django_db(transaction=True)
def test_postgres_out_of_connections_is_503_not_500(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's connection limit")
    role = f"civicdesk_full_{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    with _postgres_admin() as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
    try:
        host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
        env = {
            "DATABASE_URL": f"postgres://{role}@{host}:{port}/{db['NAME']}",
            "CIVICDESK_DB_POOL": "false",
        }
        with _granian(tmp_path, **env) as url:
            page = httpx.get(f"{url}/workspace/", cookies={"sessionid": "x" * 32}, timeout=10)
            api = httpx.get(
                f"{url}/api/v1/cases", headers={"Authorization": "Bearer cd_nope"}, timeout=10
            )
    finally:
        with _postgres_admin() as admin, contextlib.suppress(Exception):
            admin.execute(f'DROP ROLE "{role}"')

    assert page.status_code == 503, page.text[:500]
    assert page.headers["Retry-After"] == "2"
    assert "<h1>We are very busy right now</h1>" in page.text
    assert api.status_code == 503, api.text[:500]
    assert api.json()["code"] == "overloaded"


@pytest.mark.parametrize(
    ("path", "raised", "status", "content_type"),
    [
        ("/api/v1/cases", "database is locked", 503, "application/json"),
        ("/workspace/", "database is locked", 503, "text/html; charset=utf-8"),
        ("/api/v1/cases", "something else", 500, "application/json"),
        ("/workspace/", "something else", 500, "text/html; charset=utf-8"),
    ],
)
def test_an_error_raised_outside_a_view_is_judged_by_its_cause(
    path: str, raised: str, status: int, content_type: str
) -> None:
    from django.db import OperationalError

    from civicdesk.core.overload import server_error

    # Django calls handler500 while it handles the exception (a session save, a middleware).
    try:
        raise OperationalError(raised)
    except OperationalError:
        response = server_error(RequestFactory().get(path))
    assert response.status_code == status
    assert response["Content-Type"] == content_type
    assert ("Retry-After" in response) is (status == 503)


def test_the_error_page_is_in_the_citizens_language() -> None:
    from django.utils import translation

    from civicdesk.core.overload import server_error

    with translation.override("ro"):
        page = server_error(RequestFactory().get("/services/"))
    with translation.override("en"):
        english = server_error(RequestFactory().get("/services/"))

    assert page.status_code == english.status_code == 500
    assert "<h1>Ne pare rău, ceva nu a mers bine</h1>" in page.content.decode()
    assert '<html lang="ro">' in page.content.decode()
    assert "<h1>Sorry, something went wrong</h1>" in english.content.decode()


def test_an_overload_503_is_a_warning_not_a_server_error_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Django logs every 5xx answer as an ERROR of django.request; an overload is not one.
    from django.utils.log import log_response

    from civicdesk.core.overload import overloaded_response

    request = RequestFactory().get("/api/v1/cases")
    with caplog.at_level(logging.INFO):
        response = overloaded_response(request, reason="too many requests in flight")
        log_response("%s: %s", response.reason_phrase, request.path, response=response)
    assert [r.levelname for r in caplog.records] == ["WARNING"]
