"""`civicdesk worker` runs the ingest loop: a stored contact becomes a case with no task
enqueued, and SIGTERM stops the worker cleanly. On the test database (SQLite file or
PostgreSQL), database task backend."""

from pathlib import Path
from typing import Any

import pytest

from civicdesk.cases.models import Case
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.channels.services import accept_inbound
from civicdesk.core.tests.processes import (
    civicdesk_process,
    command_env,
    database_env_for_children,
    wait_for,
)
from tests.factories import console_payload

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_worker_processes_stored_payloads_and_stops_on_sigterm(
    riverton: Any, settings: Any, tmp_path: Path
) -> None:
    settings.TASK_BACKEND = "database"  # as the worker's settings: acknowledging only stores
    payloads = [
        accept_inbound(
            channel="console", raw=console_payload(**{"from": "jo@mail.example", "text": text})
        ).payload
        for text in ("The lamp is out", "Still out")
    ]
    assert {p.status for p in payloads} == {PayloadStatus.RECEIVED}
    env = command_env(tmp_path, CIVICDESK_TASK_BACKEND="database", **database_env_for_children())
    log = tmp_path / "worker.log"

    def processed() -> bool:
        statuses = InboundPayload.objects.filter(pk__in=[p.pk for p in payloads])
        return set(statuses.values_list("status", flat=True)) == {PayloadStatus.PROCESSED}

    with civicdesk_process(["worker"], env=env, log=log) as worker:
        wait_for(processed, timeout=30, what="the ingest loop to process the payloads")
        later = accept_inbound(
            channel="console", raw=console_payload(**{"from": "al@mail.example", "text": "Hi"})
        ).payload
        wait_for(
            lambda: InboundPayload.objects.get(pk=later.pk).status == PayloadStatus.PROCESSED,
            timeout=10,
            what="a payload stored while the worker runs",
        )
        worker.terminate()
        assert worker.wait(20) == 0, log.read_text()
    assert Case.objects.count() == 2
    assert "Work loop channels.ingest stopped" in log.read_text()
