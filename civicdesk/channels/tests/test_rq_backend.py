"""Past one machine, tasks run on RQ workers over Redis: the same task code, another backend."""

import io
import os
from typing import Any

import pytest

from civicdesk.channels.adapters.console.adapter import ConsoleAdapter
from civicdesk.channels.contracts import OutgoingMessage
from civicdesk.channels.models import DeliveryStatus
from civicdesk.channels.services import queue_delivery

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_delivery_runs_on_an_rq_worker(settings: Any) -> None:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("REDIS_URL is not set (CI sets it)")
    import django_rq
    from django_tasks_rq.backend import Job
    from rq import SimpleWorker

    settings.RQ_QUEUES = {"default": {"URL": redis_url}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    queue = django_rq.get_queue("default", job_class=Job)
    queue.empty()  # type: ignore[no-untyped-call]
    stream = io.StringIO()
    ConsoleAdapter.stream = stream
    try:
        delivery = queue_delivery(
            message=OutgoingMessage(
                channel="console",
                recipient="jo@mail.example",
                body="Sent from an RQ worker",
                thread_reference="RIV-2026-000001",
            )
        )
        assert queue.count == 1  # enqueued in Redis on commit, not run inline
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.PENDING
        SimpleWorker([queue], connection=queue.connection, job_class=Job).work(burst=True)
    finally:
        ConsoleAdapter.stream = None
        queue.empty()  # type: ignore[no-untyped-call]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert "Sent from an RQ worker" in stream.getvalue()
