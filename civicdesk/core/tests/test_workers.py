"""The database task worker goes on through temporary database faults.

Before core.workers, `civicdesk worker` exited on the first one: on SQLite the poll's
`BEGIN EXCLUSIVE` failed with "database is locked" once another process held the write lock
past the busy time-out; on PostgreSQL the poll's SELECT ... FOR UPDATE failed with
"terminating connection due to administrator command" after pg_terminate_backend.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from civicdesk.channels.models import DeliveryStatus, OutboundDelivery
from civicdesk.channels.tasks import deliver
from civicdesk.core.tests.db_faults import end_other_connections, one_temporary_fault
from civicdesk.core.tests.processes import (
    civicdesk_process,
    command_env,
    database_env_for_children,
    is_alive,
    wait_for,
)
from civicdesk.core.transient import is_transient
from civicdesk.core.workers import ResilientDatabaseWorker, survive_temporary_faults

pytestmark = pytest.mark.django_db(transaction=True)

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


def _console_delivery(body: str) -> OutboundDelivery:
    # Stored without a task; the test enqueues one on the database backend.
    return OutboundDelivery.objects.create(
        channel="console", recipient="jo@mail.example", body=body
    )


def _status(delivery_id: int) -> str:
    return str(OutboundDelivery.objects.get(pk=delivery_id).status)


def test_survive_temporary_faults_goes_on_after_them_and_stops_on_any_other_error() -> None:
    calls: list[str] = []
    waits: list[float] = []
    tidied: list[str] = []

    def loop() -> None:
        calls.append("run")
        if len(calls) <= 3:
            with one_temporary_fault(hold_seconds=0.3):
                OutboundDelivery.objects.filter(pk=0).update(body="x")
        raise ValueError("a bug in the loop")

    with pytest.raises(ValueError, match="a bug in the loop"):
        survive_temporary_faults(
            loop,
            keep_going=lambda: True,
            what="test loop",
            sleep=waits.append,
            after_fault=lambda exc: tidied.append(type(exc).__name__),
        )
    assert calls == ["run"] * 4
    assert waits == [0.5, 1.0, 2.0]  # doubling from the first delay
    assert tidied == ["OperationalError"] * 3


def test_the_worker_loop_comes_through_a_real_fault_and_runs_the_next_task(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.TASKS = DATABASE_TASKS
    # Closed after each poll, as a connection past its age is: a poll after the busy time-out
    # was lowered then opens a connection that meets the fault.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    worker = ResilientDatabaseWorker(
        queue_names=["*"],
        interval=0.05,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    faults: list[BaseException] = []
    survived: list[int] = []

    def after_fault(exc: BaseException) -> None:
        faults.append(exc)
        worker.record_unrecorded(exc)

    def run() -> None:
        try:
            survived.append(
                survive_temporary_faults(
                    worker.run,
                    keep_going=lambda: worker.running,
                    what="test worker",
                    first_delay=0.05,
                    after_fault=after_fault,
                )
            )
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        if connection.vendor == "sqlite":
            # The worker opens a new connection for every poll: with the busy time-out
            # lowered, its BEGIN EXCLUSIVE meets the write lock another connection holds. A
            # poll whose connection was opened before the time-out was lowered waits the lock
            # out; the pause between holds lets it through, so that the next poll meets one.
            for _ in range(10):
                with one_temporary_fault(hold_seconds=0.5):
                    pass
                if faults:
                    break
                time.sleep(0.3)
        else:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not faults:
                end_other_connections()
                time.sleep(0.002)
        assert faults, "the fault never reached the worker"
        delivery = _console_delivery("After the fault")
        deliver.enqueue(delivery_id=delivery.pk)
        wait_for(
            lambda: _status(delivery.pk) == DeliveryStatus.SENT,
            timeout=15,
            what="the worker to send the delivery after the fault",
        )
        assert thread.is_alive()
    finally:
        worker.running = False
        thread.join(15)
    assert survived == [len(faults)]
    assert all(is_transient(exc) for exc in faults)
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_a_worker_process_outlives_the_server_ending_its_connection(
    settings: Any, tmp_path: Path
) -> None:
    """PostgreSQL: `civicdesk worker` itself, its connection ended again and again by the
    server; on SQLite the same fault (a lock held past the 20 s busy time-out) takes too long
    for the suite and is covered by the loop test above."""
    if connection.vendor != "postgresql":
        pytest.skip("the server ending a connection is a PostgreSQL fault")
    settings.TASKS = DATABASE_TASKS
    env = command_env(tmp_path, CIVICDESK_TASK_BACKEND="database", **database_env_for_children())
    log = tmp_path / "worker.log"
    with civicdesk_process(["worker", "--interval", "0.05"], env=env, log=log) as worker:
        wait_for(lambda: "Task worker started" in log.read_text(), timeout=20, what="the worker")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "temporary database fault" not in log.read_text():
            end_other_connections()
            time.sleep(0.002)
        assert "temporary database fault" in log.read_text()
        delivery = _console_delivery("After the server ended the worker's connection")
        deliver.enqueue(delivery_id=delivery.pk)
        wait_for(
            lambda: _status(delivery.pk) == DeliveryStatus.SENT,
            timeout=15,
            what="the same worker process to send the delivery",
        )
        assert worker.poll() is None
        assert is_alive(worker.pid)
