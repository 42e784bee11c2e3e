"""`civicdesk serve` on one machine: pages on the WSGI server, sockets on the ASGI server, a worker
killed with SIGKILL is replaced; tasks still run.

The children run on the test database (SQLite file or PostgreSQL), already migrated, so the
test needs no `migrate` of its own and runs on both engines.
"""

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from django_tasks_db.models import DBTaskResult

from civicdesk.channels.models import InboundPayload
from civicdesk.core.tests.processes import (
    children_of,
    civicdesk_process,
    command_env,
    database_env_for_children,
    is_alive,
    kill_if_alive,
    pids_in_log,
    wait_for,
)

WORKER_STARTED = r"INFO civicdesk\.serve: worker started \(pid (\d+)\)"
SCHEDULER_STARTED = r"INFO civicdesk\.serve: scheduler started \(pid (\d+)\)"
WEB_STARTED = r"INFO civicdesk\.serve: web started \(pid (\d+)\)"
SOCKETS_STARTED = r"INFO civicdesk\.serve: sockets started \(pid (\d+)\)"
SMTPD_STARTED = r"INFO civicdesk\.serve: smtpd started \(pid (\d+)\)"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> str | None:
    """The `server` header of a 200 answer from `url`, or None."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
            return str(response.headers.get("server")) if response.status == 200 else None
    except OSError:
        return None


def _smtp_greets(port: int) -> bool:
    import smtplib

    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=1) as smtp:
            return smtp.ehlo()[0] == 250
    except OSError:
        return False


def _payload_status(payload_id: int) -> str:
    return str(InboundPayload.objects.get(pk=payload_id).status)


def _task_statuses() -> list[tuple[str, str]]:
    return list(DBTaskResult.objects.order_by("enqueued_at").values_list("task_path", "status"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not Path("/proc").exists(), reason="reads child processes from /proc")
def test_serve_restarts_a_killed_worker_and_stops_everything_on_sigterm(tmp_path: Path) -> None:
    port, socket_port, smtp_port = _free_port(), _free_port(), _free_port()
    env = command_env(
        tmp_path,
        CIVICDESK_TASK_BACKEND="database",
        CIVICDESK_SMTPD_PORT=str(smtp_port),
        **database_env_for_children(),
    )
    cli = [sys.executable, "-m", "civicdesk.cli"]
    log = tmp_path / "serve.log"
    seen: list[int] = []
    try:
        with civicdesk_process(
            [
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--socket-port",
                str(socket_port),
            ],
            env=env,
            log=log,
        ) as serve:
            server = wait_for(
                lambda: _answers(f"http://127.0.0.1:{port}/"), timeout=20, what="the page"
            )
            assert server == "granian"  # pages on the WSGI server
            # The socket server answers on its own port (its HTTP is Django's, over ASGI).
            sockets_url = f"http://127.0.0.1:{socket_port}/healthz"
            assert wait_for(lambda: _answers(sockets_url), timeout=20, what="the socket server")
            wait_for(lambda: pids_in_log(log, SCHEDULER_STARTED), timeout=5, what="scheduler")
            # The email channel's SMTP listener, beside the servers.
            wait_for(lambda: _smtp_greets(smtp_port), timeout=20, what="the SMTP listener")
            (worker,) = pids_in_log(log, WORKER_STARTED)
            (scheduler,) = pids_in_log(log, SCHEDULER_STARTED)
            (web,) = pids_in_log(log, WEB_STARTED)
            (sockets,) = pids_in_log(log, SOCKETS_STARTED)
            (smtpd,) = pids_in_log(log, SMTPD_STARTED)
            seen += [worker, scheduler, web, sockets, smtpd]
            assert children_of(serve.pid) == {web, sockets, worker, scheduler, smtpd}

            os.kill(worker, signal.SIGKILL)
            wait_for(
                lambda: len(pids_in_log(log, WORKER_STARTED)) == 2, timeout=10, what="a new worker"
            )
            replacement = pids_in_log(log, WORKER_STARTED)[1]
            seen.append(replacement)
            assert f"worker (pid {worker}) exited with code -9" in log.read_text()
            assert children_of(serve.pid) == {web, sockets, replacement, scheduler, smtpd}

            inbound = subprocess.run(  # noqa: S603
                [*cli, "inbound", "console", "--from", "jo@mail.example", "--text", "Lamp out"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            assert "Queued: the task worker will process it." in inbound.stderr
            payload_id = int(inbound.stdout.strip())
            wait_for(  # the worker's ingest loop finds the stored payload: no task is enqueued
                lambda: _payload_status(payload_id) == "processed",
                timeout=15,
                what="the replacement worker to process the payload",
            )
            assert _task_statuses() == []

            serve.send_signal(signal.SIGTERM)
            assert serve.wait(20) == 0
        assert [pid for pid in seen if is_alive(pid)] == []
        text = log.read_text()
        assert "worker stopped (exit code 0)" in text
        assert "scheduler stopped (exit code 0)" in text
        assert "smtpd stopped (exit code 0)" in text
    finally:
        kill_if_alive(seen)


def test_the_web_server_runs_as_many_processes_as_asked() -> None:
    from civicdesk.core.management.commands.serve import server_children

    web = server_children(host="127.0.0.1", port=8000, socket_port=8001, threads=32, workers=3)[0]
    arguments = web.argv[web.argv.index("--workers") + 1]
    assert web.name == "web"
    assert arguments == "3"
