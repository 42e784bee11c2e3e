"""`civicdesk worker` on RQ: a real worker runs a task enqueued in Redis, then stops on SIGTERM.

Marked `redis`; skipped when REDIS_URL is unset (CI sets it). The worker runs on the test
database (SQLite file or PostgreSQL) so the test can read what the task wrote.
"""

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from civicdesk.channels.contracts import OutgoingMessage
from civicdesk.channels.models import DeliveryStatus, OutboundDelivery
from civicdesk.channels.services import queue_delivery
from civicdesk.core.tests.processes import (
    civicdesk_process,
    command_env,
    database_env_for_children,
    wait_for,
)

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _status(delivery_id: int) -> str:
    return str(OutboundDelivery.objects.get(pk=delivery_id).status)


def test_an_rq_worker_process_runs_an_enqueued_task_and_stops_cleanly_on_sigterm(
    settings: Any, tmp_path: Path
) -> None:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("REDIS_URL is not set (CI sets it)")
    import django_rq
    from django_tasks_rq.backend import Job

    settings.RQ_QUEUES = {"default": {"URL": redis_url}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    queue = django_rq.get_queue("default", job_class=Job)
    queue.empty()  # type: ignore[no-untyped-call]
    env = command_env(
        tmp_path, CIVICDESK_TASK_BACKEND="rq", REDIS_URL=redis_url, **database_env_for_children()
    )
    log = tmp_path / "worker.log"
    try:
        delivery = queue_delivery(
            message=OutgoingMessage(
                channel="console",
                recipient="jo@mail.example",
                body="Sent by a civicdesk worker on RQ",
                thread_reference="RIV-2026-000001",
            )
        )
        assert queue.count == 1
        assert _status(delivery.pk) == DeliveryStatus.PENDING
        with civicdesk_process(["worker"], env=env, log=log) as worker:
            wait_for(
                lambda: _status(delivery.pk) == DeliveryStatus.SENT,
                timeout=20,
                what="the RQ worker to send the delivery",
            )
            assert queue.count == 0
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(15) == 0
    finally:
        queue.empty()  # type: ignore[no-untyped-call]
    text = log.read_text()
    assert "Task worker started: RQ backend, queues default" in text
    assert "Sent by a civicdesk worker on RQ" in text  # the console channel prints what it sends
    assert "warm shut down requested" in text
    assert "Traceback" not in text
