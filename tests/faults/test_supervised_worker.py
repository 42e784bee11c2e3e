"""`civicdesk serve` under load: its worker killed with SIGKILL twice while deliveries keep
arriving; the supervisor starts a new one each time, and every delivery is sent, including
those the killed workers held (their sending lease runs out and the sweep takes them over).
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
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# The children's sending lease, shortened so that the test waits seconds, not half a minute;
# the sweep still runs at its real interval (15 s).
LEASE_SECONDS = 3


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


def test_the_supervisor_replaces_a_killed_worker_and_every_delivery_is_sent(
    settings: Any, tmp_path: Path
) -> None:
    settings.TASKS = DATABASE_TASKS
    port = free_port()
    env = child_env(tmp_path, CIVICDESK_DELIVERY_LEASE_SECONDS=str(LEASE_SECONDS))
    serve = Managed("serve", ["serve", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path)
    stop = threading.Event()
    queued: list[int] = []
    loader = threading.Thread(target=_queue_continuously, args=(stop, queued))
    workers: list[int] = []
    try:
        serve.start()
        wait_for(lambda: serving(f"http://127.0.0.1:{port}"), timeout=30, what="serve")
        loader.start()
        for kill in (1, 2):
            wait_for(
                lambda: len(pids_in_log(serve.log, WORKER_STARTED)) == kill,
                timeout=20,
                what=f"worker {kill}",
            )
            worker = pids_in_log(serve.log, WORKER_STARTED)[-1]
            workers.append(worker)
            before = _sent()
            wait_for(lambda: _sent() >= before + 10, timeout=20, what=f"worker {kill} to send")
            os.kill(worker, signal.SIGKILL)
            wait_for(lambda: not is_alive(worker), timeout=5, what="the worker to die")
        wait_for(
            lambda: len(pids_in_log(serve.log, WORKER_STARTED)) == 3,
            timeout=20,
            what="the third worker",
        )
        workers.append(pids_in_log(serve.log, WORKER_STARTED)[-1])
        before = _sent()
        wait_for(lambda: _sent() >= before + 10, timeout=20, what="the third worker to send")
        stop.set()
        loader.join(10)
        # The killed workers' sends: lease (3 s) + the sweep's interval (15 s) at most.
        wait_for(
            lambda: _sent() == len(queued),
            timeout=LEASE_SECONDS + 15 + 10,
            what="every delivery to be sent",
        )
    finally:
        stop.set()
        if loader.is_alive():
            loader.join(10)
        serve.stop()
        kill_if_alive(workers)
    text = serve.log.read_text(errors="replace")
    assert len(set(workers)) == 3
    for worker in workers[:2]:
        assert f"worker (pid {worker}) exited with code -9" in text
    assert len(queued) >= 30
    statuses = set(OutboundDelivery.objects.values_list("status", flat=True))
    assert statuses == {DeliveryStatus.SENT}
