"""A task left "running" by a worker that was killed (SIGKILL, out of memory) is closed as
failed once it has run far longer than any task can: it no longer shows as running for ever.
Its work is not lost: the channel sweep sets going again whatever it left undone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from civicdesk.channels.tasks import deliver
from civicdesk.core.periodic import discover_jobs

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.mark.django_db
def test_a_task_a_killed_worker_left_running_is_closed_as_failed(settings: Any) -> None:
    settings.TASKS = DATABASE_TASKS
    settings.TASK_BACKEND = "database"
    abandoned = deliver.enqueue(delivery_id=1).id
    recent = deliver.enqueue(delivery_id=2).id
    DBTaskResult.objects.filter(pk=abandoned).update(
        status="RUNNING", started_at=timezone.now() - timedelta(hours=2)
    )
    DBTaskResult.objects.filter(pk=recent).update(status="RUNNING", started_at=timezone.now())

    discover_jobs()["core.abandoned_tasks"].run()

    closed = DBTaskResult.objects.get(pk=abandoned)
    assert closed.status == "FAILED"
    assert closed.finished_at is not None
    assert "worker" in closed.traceback
    assert DBTaskResult.objects.get(pk=recent).status == "RUNNING"  # may still be at work
