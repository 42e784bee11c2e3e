"""The kernel's own periodic jobs: closing tasks a killed worker left running, and a probe.

With CIVICDESK_SCHEDULER_PROBE_FILE set, the scheduler appends "<pid> <unix time>" to that file
every 0.2 s, so a test (or an operator) can see which scheduler process runs the jobs.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from django.conf import settings

from civicdesk.core.periodic import periodic_job

PROBE_FILE_VARIABLE = "CIVICDESK_SCHEDULER_PROBE_FILE"


@periodic_job(every=timedelta(minutes=5), name="core.abandoned_tasks")
def close_abandoned_tasks() -> None:
    """With the database task backend: tasks still "running" an hour after they started were
    left by a worker that was killed; they are marked failed (core.workers)."""
    if settings.TASK_BACKEND != "database":
        return
    from civicdesk.core.workers import close_abandoned_tasks as close

    close()


if os.environ.get(PROBE_FILE_VARIABLE):

    @periodic_job(every=timedelta(seconds=0.2), name="core.probe")
    def record_probe_run() -> None:
        line = f"{os.getpid()} {time.time():.3f}\n"
        with open(os.environ[PROBE_FILE_VARIABLE], "a", encoding="utf-8") as probe:
            probe.write(line)
