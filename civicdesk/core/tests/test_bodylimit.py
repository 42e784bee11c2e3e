"""Bodies over the limit are refused before they are read, on the real servers over real sockets.

The WSGI side runs granian with `config.wsgi`, as `civicdesk serve` does; the ASGI side runs
uvicorn with `config.asgi`. A client announces far more than it sends: an answer that came
only after reading the body would never come, so a fast 413 proves nothing was waited for.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from civicdesk.core.bodylimit import BodyLimits, WSGIBodyLimit
from civicdesk.core.tests.processes import command_env, stop_process, wait_for
from tests.browser import free_port

HALF_A_GIB = 512 * 1024 * 1024
API_LIMIT = 64 * 1024
FORM_LIMIT = 256 * 1024


def _exchange(
    port: int, head: str, body: bytes = b"", *, timeout: float = 5
) -> tuple[bytes, float]:
    """Send `head` and `body` on a fresh connection; the answer's bytes and how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as client:
        client.sendall(head.encode() + body)
        answer = b""
        while b"\r\n\r\n" not in answer or not _complete(answer):
            chunk = client.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer, time.monotonic() - started


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return False


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _header(answer: bytes, name: str) -> str:
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return ""


def _json(answer: bytes) -> object:
    return json.loads(answer.partition(b"\r\n\r\n")[2])


def _huge_post(path: str, *, length: int = HALF_A_GIB) -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    )


def _chunked_post(path: str, body: bytes, *, piece: int = 16 * 1024) -> tuple[str, bytes]:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    chunks = b"".join(
        f"{len(body[at : at + piece]):x}\r\n".encode() + body[at : at + piece] + b"\r\n"
        for at in range(0, len(body), piece)
    )
    return head, chunks + b"0\r\n\r\n"


@pytest.fixture(scope="module")
def wsgi_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """granian serving config.wsgi with small limits. No database: nothing here reaches one."""
    var = tmp_path_factory.mktemp("var")
    port = free_port()
    env = command_env(
        Path(var),
        CIVICDESK_MAX_BODY_BYTES=str(API_LIMIT),
        CIVICDESK_MAX_FORM_BYTES=str(FORM_LIMIT),
    )
    argv = [sys.executable, "-m", "granian", "--interface", "wsgi", "--port", str(port)]
    argv += ["--blocking-threads", "4", "--log-level", "error", "config.wsgi:application"]
    with (var / "granian.log").open("wb") as log:
        server = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        wait_for(lambda: _answers(port), timeout=30, what="granian")
        yield port
    finally:
        stop_process(server)


def _answers(port: int) -> bool:
    try:
        answer, _ = _exchange(port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", timeout=1)
    except OSError:
        return False
    return answer.startswith(b"HTTP/1.1 200")


def test_the_limit_for_a_path_is_its_longest_matching_prefix() -> None:
    limits = BodyLimits(default=100, prefixes=(("/api/", 10), ("/api/v1/bulk", 50)))
    assert limits.for_path("/services/bins/") == 100
    assert limits.for_path("/api/v1/contacts") == 10
    assert limits.for_path("/api/v1/bulk/import") == 50


def test_a_chunked_body_is_handed_to_django_with_its_length() -> None:
    # Django reads a body only up to CONTENT_LENGTH: without one, chunked bodies were empty.
    seen: dict[str, object] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["length"] = environ["CONTENT_LENGTH"]
        seen["body"] = environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [b""]

    wrapped = WSGIBodyLimit(app, BodyLimits(default=10))
    environ: dict[str, Any] = {
        "PATH_INFO": "/",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": BytesIO(b"0123456789"),
    }
    answer = wrapped(environ, lambda status, headers: None)
    answer.close()  # type: ignore[attr-defined]  # as servers do: the spooled body goes too
    assert environ["wsgi.input"].closed
    assert seen == {"length": "10", "body": b"0123456789"}

    statuses: list[str] = []
    environ = {
        "PATH_INFO": "/",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": BytesIO(b"0123456789A"),
    }
    wrapped(environ, lambda status, headers: statuses.append(status))
    assert statuses == ["413 Content Too Large"]


def test_an_unauthenticated_half_gib_post_to_the_api_is_refused_before_it_is_read(
    wsgi_port: int,
) -> None:
    answer, took = _exchange(wsgi_port, _huge_post("/api/v1/contacts"), b'{"ext')

    assert _status(answer) == 413
    assert took < 2.0
    assert _header(answer, "content-type") == "application/json"
    assert _header(answer, "connection") == "close"
    assert _json(answer) == {
        "detail": f"The request body is larger than {API_LIMIT} bytes.",
        "code": "body_too_large",
    }


def test_pages_have_room_for_attachments_and_answer_html_past_it(wsgi_port: int) -> None:
    # Past the API's limit but within the forms' one: Django gets it (and refuses the CSRF).
    body = b"x" * (API_LIMIT * 2)
    head = (
        "POST /services/missed-bin/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    answer, _ = _exchange(wsgi_port, head, body)
    assert _status(answer) == 403

    answer, took = _exchange(wsgi_port, _huge_post("/services/missed-bin/", length=FORM_LIMIT + 1))
    assert _status(answer) == 413
    assert took < 2.0
    assert _header(answer, "content-type").startswith("text/html")
    assert b"<h1>What you sent is too large</h1>" in answer


def test_a_chunked_body_is_cut_off_at_the_limit(wsgi_port: int) -> None:
    head, chunks = _chunked_post("/api/v1/contacts", b"x" * (API_LIMIT + 1))
    answer, _ = _exchange(wsgi_port, head, chunks)
    assert _status(answer) == 413
    assert _header(answer, "content-type") == "application/json"


def test_a_chunked_body_within_the_limit_is_passed_on(wsgi_port: int) -> None:
    head, chunks = _chunked_post("/api/v1/contacts", b'{"external_id": "x"}' + b" " * 40_000)
    answer, _ = _exchange(wsgi_port, head, chunks)
    assert _status(answer) == 401  # the API's JSON answer: it needs a token
    assert _header(answer, "www-authenticate") == "Bearer"


def test_a_malformed_length_is_refused(wsgi_port: int) -> None:
    answer, _ = _exchange(
        wsgi_port, "POST /api/v1/contacts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n"
    )
    assert _status(answer) in (400, 413)


@pytest.mark.django_db(transaction=True)
def test_the_asgi_server_refuses_large_bodies_before_reading_them() -> None:
    import config.asgi
    from civicdesk.core.bodylimit import ASGIBodyLimit
    from tests.browser import serve_asgi

    http = config.asgi.application.application_mapping["http"]
    assert isinstance(http, ASGIBodyLimit)
    with serve_asgi() as url:
        port = int(url.rsplit(":", 1)[1])
        answer, took = _exchange(port, _huge_post("/api/v1/contacts"), b"{")
        assert _status(answer) == 413
        assert took < 2.0
        assert _header(answer, "content-type") == "application/json"

        limit = http.limits.for_path("/api/v1/contacts")
        head, chunks = _chunked_post("/api/v1/contacts", b"x" * (limit + 1), piece=256 * 1024)
        answer, _ = _exchange(port, head, chunks)
        assert _status(answer) == 413

        head, chunks = _chunked_post("/api/v1/contacts", b"{}")
        answer, _ = _exchange(port, head, chunks)
        assert _status(answer) == 401


class _Trickle:
    """A request body arriving a few bytes at a time, as from a slow (or hostile) client."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.sent = 0

    def read(self, size: int = -1) -> bytes:
        piece = self.data[self.sent : self.sent + min(7, size if size >= 0 else 7)]
        self.sent += len(piece)
        return piece


def test_a_declared_body_is_all_in_before_django_is_called() -> None:
    # Django's admission slots are taken as it is called: a body still trickling in must not
    # hold one. Nothing past the declared length is read (a keep-alive's next request).
    body = b'{"external_id": "x", "text": "a slow upload"}'
    trickle = _Trickle(body + b"GET / HTTP/1.1")
    seen: dict[str, object] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["received before"] = trickle.sent
        seen["length"] = environ["CONTENT_LENGTH"]
        seen["body"] = environ["wsgi.input"].read()
        start_response("200 OK", [])
        return [b""]

    wrapped = WSGIBodyLimit(app, BodyLimits(default=1000))
    environ: dict[str, Any] = {
        "PATH_INFO": "/api/v1/contacts",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": trickle,
    }
    answer = wrapped(environ, lambda status, headers: None)
    getattr(answer, "close", lambda: None)()
    assert seen == {"received before": len(body), "length": str(len(body)), "body": body}


def test_a_body_cut_short_is_refused_not_acted_on() -> None:
    # The client declared 40 bytes and went away after 12: never handle the part as a request.
    called: list[bool] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        called.append(True)
        start_response("200 OK", [])
        return [b""]

    wrapped = WSGIBodyLimit(app, BodyLimits(default=1000))
    answers: list[tuple[str, list[tuple[str, str]]]] = []
    environ: dict[str, Any] = {
        "PATH_INFO": "/api/v1/contacts",
        "CONTENT_LENGTH": "40",
        "wsgi.input": BytesIO(b'{"external_i'),
    }
    content = b"".join(wrapped(environ, lambda status, headers: answers.append((status, headers))))

    assert called == []
    assert answers[0][0] == "400 Bad Request"
    assert json.loads(content)["code"] == "body_incomplete"


def test_slow_uploads_do_not_hold_the_admission_slots(tmp_path: Path) -> None:
    # One slot: a client trickling a form's body used to hold it until its last byte, and
    # every other request was answered 503 meanwhile.
    port = free_port()
    env = command_env(
        tmp_path, CIVICDESK_MAX_REQUESTS_IN_FLIGHT="1", CIVICDESK_ADMISSION_WAIT_SECONDS="0.2"
    )
    argv = [sys.executable, "-m", "granian", "--interface", "wsgi", "--port", str(port)]
    argv += ["--blocking-threads", "4", "--log-level", "error", "config.wsgi:application"]
    with (tmp_path / "granian.log").open("wb") as log:
        server = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        wait_for(lambda: _answers(port), timeout=30, what="granian")
        body = b"csrfmiddlewaretoken=" + b"b" * 32 + b"&description=" + b"x" * 200
        head = (
            "POST /services/missed-bin/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            # A well-formed CSRF cookie: the check reads the form's token from the body.
            f"Cookie: csrftoken={'a' * 32}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
            slow.sendall(head.encode() + body[:10])
            time.sleep(0.5)  # the server has the headers and is waiting for the body
            answer, _ = _exchange(
                port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            )
            assert _status(answer) == 200
            slow.sendall(body[10:])
            assert slow.recv(12).startswith(b"HTTP/1.1 403")  # the CSRF check, body read
    finally:
        stop_process(server)
