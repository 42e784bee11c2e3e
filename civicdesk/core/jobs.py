"""The kernel's own periodic jobs: only a probe, for tests and for checking a deployment.

With CIVICDESK_SCHEDULER_PROBE_FILE set, the scheduler appends "<pid> <unix time>" to that file
every 0.2 s, so a test (or an operator) can see which scheduler process runs the jobs.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

from civicdesk.core.periodic import periodic_job

PROBE_FILE_VARIABLE = "CIVICDESK_SCHEDULER_PROBE_FILE"

if os.environ.get(PROBE_FILE_VARIABLE):

    @periodic_job(every=timedelta(seconds=0.2), name="core.probe")
    def record_probe_run() -> None:
        line = f"{os.getpid()} {time.time():.3f}\n"
        with open(os.environ[PROBE_FILE_VARIABLE], "a", encoding="utf-8") as probe:
            probe.write(line)
