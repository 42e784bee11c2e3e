"""The cases app's periodic jobs (see docs/how-to/add-a-periodic-job.md)."""

from __future__ import annotations

from datetime import timedelta

from civicdesk.cases.services.escalation import escalate_due_cases
from civicdesk.core.periodic import periodic_job


@periodic_job(every=timedelta(minutes=1), name="cases.escalate")
def escalate_service_levels() -> None:
    """Warn about and escalate cases whose service-level clocks are due soon or missed."""
    escalate_due_cases()
