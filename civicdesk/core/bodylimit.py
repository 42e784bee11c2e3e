"""Request bodies over the limit are refused before they are read in full, under WSGI and ASGI.

Django reads what the client declares it will send: under WSGI up to `Content-Length` (and a
body without one, chunked, is silently empty), under ASGI the whole body before the view runs.
A client announcing 512 MiB would hold a server thread, or memory, until it had sent it all.
These wrappers sit outside Django and decide from the path which limit applies:

- a declared `Content-Length` over the limit: 413 at once, nothing read;
- a body without a length (chunked): read up to the limit and handed to Django with its length
  set; one byte more and the answer is 413;
- a body within the limit is read in full here, before Django runs, so that a client sending it
  slowly holds a server thread but never one of Django's admission slots (core.overload);
- every 413 closes the connection, so the unread rest is never parsed as a next request.

Paths under `/api/` answer in JSON, like the rest of the API; other paths get a short HTML page.
Pure Python: the limits are given, not read from settings, so servers and tests share one code.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

API_PREFIX = "/api/"
SPOOL_IN_MEMORY_BYTES = 1024 * 1024
_READ_CHUNK = 64 * 1024

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>What you sent is too large</title>
</head>
<body>
  <main id="main">
    <h1>What you sent is too large</h1>
    <p>We can accept at most {limit} in one go. If you attached a file, please choose a smaller
      one, then <a href="javascript:history.back()">go back</a> and send the form again.</p>
  </main>
</body>
</html>
"""


@dataclass(frozen=True)
class BodyLimits:
    """The largest body accepted under each path prefix (longest prefix wins), else `default`."""

    default: int
    prefixes: Sequence[tuple[str, int]] = ()

    def for_path(self, path: str) -> int:
        best, limit = -1, self.default
        for prefix, bytes_allowed in self.prefixes:
            if path.startswith(prefix) and len(prefix) > best:
                best, limit = len(prefix), bytes_allowed
        return limit


def describe_size(size: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


def too_large(path: str, limit: int) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status line, headers and body of the 413 answer for `path`."""
    if path.startswith(API_PREFIX):
        content = json.dumps(
            {
                "detail": f"The request body is larger than {limit} bytes.",
                "code": "body_too_large",
            }
        ).encode()
        content_type = "application/json"
    else:
        content = _PAGE.format(limit=describe_size(limit)).encode()
        content_type = "text/html; charset=utf-8"
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(content))),
        ("Connection", "close"),
    ]
    return "413 Content Too Large", headers, content


def declared_length(raw: str | bytes | None) -> int | None:
    """The declared body length, None when absent; a malformed one counts as too large (-1)."""
    if raw is None or raw in ("", b""):
        return None
    try:
        value = int(raw)
    except ValueError:
        return -1
    return value if value >= 0 else -1


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WSGIBodyLimit:
    """Wrap a WSGI application so that no body past its path's limit reaches it."""

    def __init__(self, app: WSGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        limit = self.limits.for_path(path)
        length = declared_length(environ.get("CONTENT_LENGTH"))
        if length is not None and (length < 0 or length > limit):
            return self._refuse(environ, start_response, path, limit)
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if length is None and chunked:
            body = _read_at_most(environ["wsgi.input"], limit)
            if body is None:
                return self._refuse(environ, start_response, path, limit)
        elif length:
            # All of it before Django runs: a client trickling its body would otherwise hold
            # one of the admission slots (core.overload) until its last byte.
            body = _read_declared(environ["wsgi.input"], length)
            if body.tell() < length:  # the client went away mid-body: never act on a part
                body.close()
                return self._incomplete(start_response, path)
        else:
            return self.app(environ, start_response)
        environ["wsgi.input"] = body
        environ["CONTENT_LENGTH"] = str(body.seek(0, io.SEEK_END))
        body.seek(0)
        return _ClosingWith(self.app(environ, start_response), body)

    @staticmethod
    def _incomplete(start_response: Callable[..., Any], path: str) -> Iterable[bytes]:
        message = "The request body is shorter than its Content-Length: it was not received."
        if path.startswith(API_PREFIX):
            content = json.dumps({"detail": message, "code": "body_incomplete"}).encode()
            content_type = "application/json"
        else:
            content, content_type = message.encode(), "text/plain; charset=utf-8"
        start_response(
            "400 Bad Request",
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(content))),
                ("Connection", "close"),
            ],
        )
        return [content]

    @staticmethod
    def _refuse(
        environ: dict[str, Any], start_response: Callable[..., Any], path: str, limit: int
    ) -> Iterable[bytes]:
        status, headers, content = too_large(path, limit)
        start_response(status, headers)
        return [content]


class _ClosingWith:
    """The application's answer, closing the spooled body too when the server closes it."""

    def __init__(self, answer: Iterable[bytes], body: Any) -> None:
        self.answer = answer
        self.body = body

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.answer)

    def close(self) -> None:
        try:
            close = getattr(self.answer, "close", None)
            if close is not None:
                close()
        finally:
            self.body.close()


def _read_at_most(stream: Any, limit: int) -> Any:
    """The stream's bytes in a spooled file, or None as soon as there are more than `limit`."""
    spool = _spool()
    total = 0
    while True:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - total))
        if not chunk:
            return spool
        total += len(chunk)
        if total > limit:
            spool.close()
            return None
        spool.write(chunk)


def _read_declared(stream: Any, length: int) -> Any:
    """The `length` bytes the client declared (fewer if it went away: the caller checks),
    nothing past them; the file is left at its end."""
    body = io.BytesIO() if length <= SPOOL_IN_MEMORY_BYTES else _spool()
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(_READ_CHUNK, remaining))
        if not chunk:
            break
        body.write(chunk)
        remaining -= len(chunk)
    return body


def _spool() -> Any:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)


Scope = MutableMapping[str, Any]
Message = Any
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


class ASGIBodyLimit:
    """Wrap an ASGI application: HTTP bodies past the limit are answered 413 by the wrapper.

    The body is gathered here (bounded) and replayed to the application, which would gather
    it anyway (Django does before the view runs); WebSocket and lifespan scopes pass through.
    """

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "") or "/"
        limit = self.limits.for_path(path)
        headers = dict(scope.get("headers") or [])
        length = declared_length(headers.get(b"content-length"))
        if length is not None and (length < 0 or length > limit):
            await _send_too_large(send, path, limit)
            return
        messages: list[Message] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            total += len(message.get("body", b""))
            if total > limit:
                await _send_too_large(send, path, limit)
                return
            messages.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)


async def _send_too_large(send: Send, path: str, limit: int) -> None:
    status, headers, content = too_large(path, limit)
    await send(
        {
            "type": "http.response.start",
            "status": int(status.split()[0]),
            "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
        }
    )
    await send({"type": "http.response.body", "body": content})
