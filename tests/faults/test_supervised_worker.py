"""`civicdesk serve` under load: its worker killed with SIGKILL twice, and its scheduler once,
while deliveries keep arriving; the supervisor starts a new one each time, and every delivery
is sent, including those the killed workers held (their sending lease runs out and the sweep,
run by the replacement scheduler once the dead one's lease has expired, takes them over).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from civicdesk.channels.models import DeliveryStatus, OutboundDelivery
from civicdesk.channels.tasks import deliver
from civicdesk.core.tests.processes import is_alive, kill_if_alive, pids_in_log, wait_for
from tests.faults.harness import Managed, child_env, free_port, serving

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

WORKER_STARTED = r"INFO civicdesk\.serve: worker started \(pid (\d+)\)"
SCHEDULER_STARTED = r"INFO civicdesk\.serve: scheduler started \(pid (\d+)\)"
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# The children's sending lease, shortened so that the test waits seconds, not half a minute;
# the sweep still runs at its real interval (15 s).
LEASE_SECONDS = 3
# The scheduler's lease, shortened likewise: a killed scheduler's is taken over after this.
SCHEDULER_LEASE_SECONDS = 4


def _sent() -> int:
    return OutboundDelivery.objects.filter(status=DeliveryStatus.SENT).count()


def _queue_continuously(stop: threading.Event, queued: list[int]) -> None:
    from django.db import connection

    try:
        while not stop.is_set():
            delivery = OutboundDelivery.objects.create(
                channel="console",
                recipient="jo@mail.example",
                body=f"Reply {len(queued)}",
                thread_reference="RIV-2026-000001",
            )
            deliver.enqueue(delivery_id=delivery.pk)
            queued.append(delivery.pk)
            time.sleep(0.02)
    finally:
        connection.close()


def _worker_number(serve: Managed, number: int, started: str = WORKER_STARTED) -> int:
    """The pid of the `number`th worker (or scheduler) serve started, once it has."""
    wait_for(
        lambda: len(pids_in_log(serve.log, started)) >= number,
        timeout=20,
        what=f"child {number} to start ({started})",
    )
    return pids_in_log(serve.log, started)[number - 1]


def _wait_until_it_sends(who: str) -> None:
    before = _sent()
    wait_for(lambda: _sent() >= before + 10, timeout=20, what=f"{who} to send")


def _kill_and_wait(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not is_alive(pid), timeout=5, what=f"worker {pid} to die")


def test_the_supervisor_replaces_a_killed_worker_and_every_delivery_is_sent(
    settings: Any, tmp_path: Path
) -> None:
    settings.TASKS = DATABASE_TASKS
    port = free_port()
    env = child_env(
        tmp_path,
        CIVICDESK_DELIVERY_LEASE_SECONDS=str(LEASE_SECONDS),
        CIVICDESK_SCHEDULER_LEASE_SECONDS=str(SCHEDULER_LEASE_SECONDS),
    )
    serve = Managed(
        "serve", ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-smtpd"], env, tmp_path
    )
    stop = threading.Event()
    queued: list[int] = []
    loader = threading.Thread(target=_queue_continuously, args=(stop, queued))
    workers: list[int] = []
    schedulers: list[int] = []
    try:
        serve.start()
        wait_for(lambda: serving(f"http://127.0.0.1:{port}"), timeout=30, what="serve")
        loader.start()
        for kill in (1, 2):
            workers.append(_worker_number(serve, kill))
            _wait_until_it_sends(f"worker {kill}")
            _kill_and_wait(workers[-1])
            if kill == 1:  # the scheduler too, while the killed worker's sends wait for a sweep
                schedulers.append(_worker_number(serve, 1, SCHEDULER_STARTED))
                _kill_and_wait(schedulers[-1])
                schedulers.append(_worker_number(serve, 2, SCHEDULER_STARTED))
        workers.append(_worker_number(serve, 3))
        _wait_until_it_sends("the third worker")
        stop.set()
        loader.join(10)
        # The killed workers' sends: lease (3 s) + the scheduler's lease (4 s) + the sweep's
        # interval (15 s) at most.
        wait_for(
            lambda: _sent() == len(queued),
            timeout=LEASE_SECONDS + SCHEDULER_LEASE_SECONDS + 15 + 10,
            what="every delivery to be sent",
        )
    finally:
        stop.set()
        if loader.is_alive():
            loader.join(10)
        serve.stop()
        kill_if_alive(workers + schedulers)
    text = serve.log.read_text(errors="replace")
    assert len(set(workers)) == 3
    for worker in workers[:2]:
        assert f"worker (pid {worker}) exited with code -9" in text
    assert len(set(schedulers)) == 2
    assert f"scheduler (pid {schedulers[0]}) exited with code -9" in text
    assert len(queued) >= 30
    statuses = set(OutboundDelivery.objects.values_list("status", flat=True))
    assert statuses == {DeliveryStatus.SENT}
