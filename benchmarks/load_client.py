"""The load client of the ingest benchmarks: keep-alive HTTP/1.1 on asyncio, closed or open loop.

Written by hand rather than with an HTTP library so that the client costs the server little of
the machine: about 70 us of CPU per request (some 8,000 requests/s against a trivial server on
2 cores). Every run reports the share of a core it used.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest_support import contact_body

# The answers that acknowledge a contact: 201 processed, 202 received (not yet routed),
# 200 a repeat of an earlier one.
ACKNOWLEDGED = (200, 201, 202)


class HttpConnection:
    """One keep-alive HTTP/1.1 connection, written by hand: a few microseconds per request, so
    the client takes little of the CPU the server needs."""

    # Servers close idle keep-alive connections (uvicorn after 5 s, gunicorn after 2 s): one
    # idle longer is not reused, so that a request never goes out on a connection being closed.
    MAX_IDLE_SECONDS = 1.5

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.closed = False
        self.idle_since = time.monotonic()

    @property
    def reusable(self) -> bool:
        idle = time.monotonic() - self.idle_since
        return not self.closed and not self.reader.at_eof() and idle < self.MAX_IDLE_SECONDS

    @classmethod
    async def open(cls, port: int) -> HttpConnection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def post(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        self.writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await self.writer.drain()
        lines = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if b"content-length" in headers:
            content = await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding") == b"chunked":
            content = await self._chunked()
        else:
            content = await self.reader.read()
            self.closed = True
        if headers.get(b"connection") == b"close":
            self.closed = True
        self.idle_since = time.monotonic()
        return status, content

    async def _chunked(self) -> bytes:
        parts = []
        while size := int((await self.reader.readline()).split(b";")[0], 16):
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)
        await self.reader.readuntil(b"\r\n")
        return b"".join(parts)

    def close(self) -> None:
        self.closed = True
        self.writer.close()


def request_head(port: int, token: str) -> bytes:
    return (
        f"POST /api/v1/contacts HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        "User-Agent: civicdesk-benchmark\r\n"
    ).encode()


@dataclass
class LoadResult:
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    # external_id -> (status, the reference answered or ""), for the acknowledged contacts
    answers: dict[str, tuple[int, str]] = field(default_factory=dict)
    client_cpu_seconds: float = 0.0

    @property
    def acknowledged(self) -> int:
        return sum(self.statuses[str(code)] for code in ACKNOWLEDGED)

    @property
    def errors(self) -> dict[str, int]:
        return {k: v for k, v in sorted(self.statuses.items()) if k not in map(str, ACKNOWLEDGED)}

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def _send(
    pool: list[HttpConnection],
    *,
    port: int,
    head: bytes,
    external_id: str,
    body: bytes,
    result: LoadResult,
    timeout: float,
    started: float,
    keep: bool,
) -> None:
    """One contact over an idle connection from `pool` (or a new one); latency from `started`."""
    while pool and not pool[-1].reusable:
        pool.pop().close()
    connection = pool.pop() if pool else None

    async def exchange() -> tuple[int, bytes]:
        nonlocal connection
        if connection is None:  # connecting counts against the time-out too
            connection = await HttpConnection.open(port)
        return await connection.post(head, body)

    try:
        status, content = await asyncio.wait_for(exchange(), timeout)
    except TimeoutError:
        kind = "timeout"
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
        kind = f"connection error ({type(exc).__name__})"
    else:
        assert connection is not None
        kind = str(status)
        if keep and status in ACKNOWLEDGED:
            reference = ""
            with contextlib.suppress(ValueError, AttributeError):
                reference = str(json.loads(content).get("reference") or "")
            result.answers[external_id] = (status, reference)
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        if not connection.closed:
            pool.append(connection)
            connection = None
    result.statuses[kind] += 1
    if connection is not None:
        connection.close()


def closed_loop(
    *, port: int, token: str, run: str, connections: int, seconds: float, timeout: float = 30
) -> LoadResult:
    """`connections` clients, each sending its next contact as soon as the last was answered."""
    head = request_head(port, token)
    numbers = itertools.count()
    result = LoadResult()

    async def client(deadline: float) -> None:
        pool: list[HttpConnection] = []
        while time.perf_counter() < deadline:
            n = next(numbers)
            started = time.perf_counter()
            await _send(
                pool,
                port=port,
                head=head,
                external_id=f"{run}-{n}",
                body=contact_body(run, n),
                result=result,
                timeout=timeout,
                started=started,
                keep=False,
            )
        for connection in pool:
            connection.close()

    async def main() -> None:
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(client(deadline) for _ in range(connections)))

    cpu, started = time.process_time(), time.perf_counter()
    asyncio.run(main())
    result.seconds = time.perf_counter() - started
    result.client_cpu_seconds = time.process_time() - cpu
    return result


def open_loop(
    *,
    port: int,
    token: str,
    run: str,
    rate: float,
    seconds: float,
    max_connections: int = 512,
    timeout: float = 30,
    progress: Callable[[LoadResult, float], None] | None = None,
) -> LoadResult:
    """Contacts sent at a fixed rate whatever the answers (open loop), each on an idle
    connection or a new one; latency counts from when the contact was due, so a stalled server
    shows in the figures instead of slowing the client down."""
    head = request_head(port, token)
    result = LoadResult()
    limit = asyncio.Semaphore(max_connections)

    async def one(n: int, due: float, pool: list[HttpConnection]) -> None:
        async with limit:
            external_id = f"{run}-{n}"
            await _send(
                pool,
                port=port,
                head=head,
                external_id=external_id,
                body=contact_body(run, n),
                result=result,
                timeout=timeout,
                started=due,
                keep=True,
            )

    async def main() -> None:
        pool: list[HttpConnection] = []
        tasks = set()
        begin = time.perf_counter()
        next_report = begin + 60
        for n in itertools.count():
            due = begin + n / rate
            if due - begin >= seconds:
                break
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            task = asyncio.create_task(one(n, due, pool))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if progress and time.perf_counter() >= next_report:
                progress(result, time.perf_counter() - begin)
                next_report += 60
        await asyncio.gather(*tasks)
        for connection in pool:
            connection.close()

    cpu, started = time.process_time(), time.perf_counter()
    asyncio.run(main())
    result.seconds = time.perf_counter() - started
    result.client_cpu_seconds = time.process_time() - cpu
    return result
