"""Requests per second from a bare Django view under each server CivicDesk could run, in one run.

Each server is started as its own process on a free loopback port, serving CivicDesk's own
application (`config.asgi` or `config.wsgi`, all middleware on) and its `/healthz` view, which
touches no database. `wrk` (Debian package `wrk`) then loads it from a second process; the
figures and the load average before and after each server are printed, so that a busy machine
shows. One worker process per server, so the figures compare servers rather than core counts.

    .venv/bin/python benchmarks/servers.py                # 10 s per server
    .venv/bin/python benchmarks/servers.py --seconds 20 --connections 64
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
THREADS = 8


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _servers(port: int) -> dict[str, list[str]]:
    where = ["--host", "127.0.0.1", "--port", str(port)]
    return {
        "uvicorn ASGI (serve before)": [
            str(BIN / "uvicorn"),
            "config.asgi:application",
            *where,
            "--lifespan",
            "off",
            "--log-level",
            "warning",
        ],
        f"gunicorn gthread ({THREADS} threads)": [
            str(BIN / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            "1",
            "--threads",
            str(THREADS),
            "--log-level",
            "warning",
        ],
        f"granian WSGI ({THREADS} thr., serve)": [
            str(BIN / "granian"),
            "--interface",
            "wsgi",
            *where,
            "--workers",
            "1",
            "--blocking-threads",
            str(THREADS),
            "--log-level",
            "warning",
            "config.wsgi:application",
        ],
    }


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urlopen(url, timeout=1) as answer:  # noqa: S310 (loopback)
                if answer.status == 200:
                    return
        except (URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def _wrk(url: str, *, seconds: int, connections: int) -> tuple[float, str, int]:
    out = subprocess.run(  # noqa: S603
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    bad = int(errors.group(1)) if errors else 0
    bad += int(timeouts.group(1)) if timeouts else 0
    return rate, p99.group(1) if p99 else "?", bad


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install -y wrk")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CIVICDESK_VAR_DIR": tempfile.mkdtemp(prefix="civicdesk-servers-"),
        "CIVICDESK_LOG_LEVEL": "ERROR",
    }
    env.pop("DATABASE_URL", None)  # the bare view touches no database
    print(f"{os.cpu_count()} cores; wrk -t2 -c{args.connections} -d{args.seconds}s on /healthz")
    results: list[tuple[str, float]] = []
    for name, argv in _servers(_free_port()).items():
        port = int(argv[argv.index("--port") + 1]) if "--port" in argv else None
        if port is None:
            port = int(argv[argv.index("--bind") + 1].rsplit(":", 1)[1])
        url = f"http://127.0.0.1:{port}/healthz"
        process = subprocess.Popen(argv, cwd=REPO, env=env)  # noqa: S603
        try:
            _wait_until_up(url, process)
            before = _load()
            rate, p99, bad = _wrk(url, seconds=args.seconds, connections=args.connections)
            print(
                f"{name:34} {rate:9.0f} req/s  p99 {p99:>8}  errors {bad}  "
                f"load {before} -> {_load()}"
            )
            results.append((name, rate))
        finally:
            process.terminate()
            process.wait(10)
        time.sleep(2)
    base = results[0][1]
    for name, rate in results[1:]:
        print(f"{name}: {rate / base:.1f}x {results[0][0]}")


if __name__ == "__main__":
    main()
