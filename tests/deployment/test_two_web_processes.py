"""Past one machine, for real: a contact taken by one web process reaches a socket on another.

Real processes on one PostgreSQL database and one Redis, as docs/deployment.md deploys them:

- A: granian serving `config.wsgi` (pages and API);
- B: uvicorn serving `config.asgi` (WebSockets only);
- `civicdesk worker` on RQ, with live updates on the Redis channel layer.

An agent signs in on A, opens the inbox socket on B with the session cookie A gave (same host,
other port); an integration posts a contact to A with its API token; the agent's socket hears
the new case. The database (`civicdesk_deploy_<pid>`) and the Redis database (number 3) are
this test's own, so nothing collides with pytest-django's test database or the other Redis
tests. Locally it skips when PostgreSQL or Redis is missing; in CI (CI=true) it must run.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from civicdesk.core.tests.processes import command_env, stop_process, wait_for
from tests.browser import free_port
from tests.factories import PASSWORD

pytestmark = [pytest.mark.redis, pytest.mark.deployment]

CI_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"
CI_REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_DB = 3
GRANIAN = [sys.executable, "-m", "granian", "--interface", "wsgi", "--blocking-threads", "8"]
GRANIAN += ["--log-level", "error"]
UVICORN = [sys.executable, "-m", "uvicorn", "--lifespan", "off", "--ws", "websockets-sansio"]
UVICORN += ["--log-level", "warning"]
AGENT = "ann@riverton.example"
SETUP = """
from tests.factories import build_riverton
from civicdesk.accounts.services import create_api_token
riverton = build_riverton()
print("TOKEN=" + create_api_token(email=riverton.supervisor.email, name="crm").key)
"""


def _unavailable(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} must be reachable in CI")
    pytest.skip(f"{what} is not reachable")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database of this test's own on the PostgreSQL server; dropped after."""
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgres"):
        server = CI_DATABASE_URL
    try:
        import psycopg

        maintenance = urlunsplit(urlsplit(server)._replace(scheme="postgresql", path="/postgres"))
        admin = psycopg.connect(maintenance, autocommit=True, connect_timeout=3)
    except Exception:
        _unavailable(f"PostgreSQL at {server}")
    name = f"civicdesk_deploy_{os.getpid()}"
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """This test's own Redis database, emptied before and after."""
    import redis

    server = os.environ.get("REDIS_URL") or CI_REDIS_URL
    url = urlunsplit(urlsplit(server)._replace(path=f"/{REDIS_DB}"))
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.flushdb()
    except redis.RedisError:
        _unavailable(f"Redis at {server}")
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


@contextmanager
def _process(argv: list[str], *, env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("wb") as output:
        process = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        stop_process(process)
        assert process.returncode is not None


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _sign_in(client: httpx.Client, email: str) -> None:
    page = client.get("/workspace/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:300]
    answer = client.post(
        "/workspace/login/",
        data={"csrfmiddlewaretoken": token.group(1), "username": email, "password": PASSWORD},
        headers={"Referer": f"{client.base_url}workspace/login/"},
    )
    assert answer.status_code == 302, answer.text[:300]


def _contact() -> dict[str, Any]:
    return {
        "external_id": "crm-deploy-1",
        "citizen": {"name": "Jo Citizen", "email": "jo@mail.example"},
        "subject": "Bin not emptied",
        "body": "My general waste bin was not emptied this morning.",
        "service_code": "missed-bin",
        "answers": {"bin_type": "general", "address": "1 River Street"},
    }


async def _hear_the_contact(
    socket_url: str, *, origin: str, cookie: str, post: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    import websockets
    from websockets.typing import Origin

    async with websockets.connect(
        socket_url,
        origin=Origin(origin),
        additional_headers={"Cookie": cookie},
    ) as socket:
        hello = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
        assert hello["kind"] == "hello"
        answer = await asyncio.to_thread(post)
        heard: list[dict[str, Any]] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                frame = await asyncio.wait_for(socket.recv(), timeout=deadline - time.monotonic())
            except TimeoutError:
                break
            event = json.loads(frame)
            heard.append(event)
            reference = answer.get("reference")
            if event["kind"].startswith("case.") and event["data"].get("reference") == reference:
                break
        return answer, heard


def _connections_to(url: str) -> int:
    import psycopg

    parts = urlsplit(url)
    maintenance = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [parts.path.lstrip("/")]
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_contact_posted_to_one_web_process_reaches_a_socket_on_another(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    web_port, socket_port = free_port(), free_port()
    env = command_env(
        tmp_path,
        DATABASE_URL=postgres_url,
        REDIS_URL=redis_url,
        CIVICDESK_TASK_BACKEND="rq",
        CIVICDESK_REALTIME_BACKEND="redis",
        CIVICDESK_SOCKET_PORT=str(socket_port),
        CIVICDESK_DB_POOL_MAX_SIZE="4",
    )
    cli = [sys.executable, "-m", "civicdesk.cli"]
    subprocess.run([*cli, "migrate", "--no-input", "-v", "0"], env=env, check=True)
    setup = subprocess.run(
        [*cli, "shell", "-c", SETUP], env=env, check=True, capture_output=True, text=True
    )
    token = re.search(r"TOKEN=(\S+)", setup.stdout)
    assert token, setup.stdout + setup.stderr

    web = f"http://127.0.0.1:{web_port}"
    with ExitStack() as processes:
        processes.enter_context(
            _process(
                [*GRANIAN, "--port", str(web_port), "config.wsgi:application"],
                env=env,
                log=tmp_path / "web.log",
            )
        )
        processes.enter_context(
            _process(
                [*UVICORN, "--port", str(socket_port), "config.asgi:application"],
                env={**env, "CIVICDESK_SERVER": "asgi"},
                log=tmp_path / "sockets.log",
            )
        )
        processes.enter_context(_process([*cli, "worker"], env=env, log=tmp_path / "worker.log"))
        wait_for(lambda: _answers(f"{web}/healthz"), timeout=30, what="the web process")
        wait_for(
            lambda: _answers(f"http://127.0.0.1:{socket_port}/healthz"),
            timeout=30,
            what="the socket process",
        )

        with httpx.Client(base_url=web, timeout=10) as agent:
            _sign_in(agent, AGENT)
            inbox = agent.get("/workspace/")
            # The page tells its JavaScript where the socket server is.
            assert f'data-socket-port="{socket_port}"' in inbox.text
            cookie = "; ".join(f"{name}={value}" for name, value in agent.cookies.items())

        def post() -> dict[str, Any]:
            answer = httpx.post(
                f"{web}/api/v1/contacts",
                json=_contact(),
                headers={"Authorization": f"Bearer {token.group(1)}"},
                timeout=10,
            )
            assert answer.status_code in (201, 202), answer.text[:500]
            assert answer.headers["server"] == "granian"  # taken by process A
            return dict(answer.json())

        answer, heard = asyncio.run(
            _hear_the_contact(
                f"ws://127.0.0.1:{socket_port}/ws/workspace/",
                origin=web,
                cookie=cookie,
                post=post,
            )
        )

        # Three processes with pools of at most 4: the server never sees more than 12.
        assert _connections_to(postgres_url) <= 12

    logs = {name: (tmp_path / f"{name}.log").read_text() for name in ("web", "sockets", "worker")}
    matching = [
        event
        for event in heard
        if event["kind"].startswith("case.")
        and event["data"].get("reference") == answer["reference"]
    ]
    assert matching, f"heard {heard}; logs: {logs}"
    assert "Traceback" not in logs["web"] + logs["sockets"], logs
    assert time.monotonic() - started < 60
