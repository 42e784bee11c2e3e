"""Periodic jobs are declared in each app's jobs.py and found by discovery."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from civicdesk.core.periodic import discover_jobs, periodic_job
from civicdesk.core.supervision import restart_delay


def test_the_sweep_is_discovered_as_a_job_every_15_seconds() -> None:
    # 15 s: with the 30 s sending lease, a delivery left by a dead worker is taken over
    # within 45 s (channels.sending_lease).
    jobs = discover_jobs()
    assert jobs["channels.sweep"].every == timedelta(seconds=15)
    assert jobs["channels.sweep"].run.__module__ == "civicdesk.channels.jobs"
    assert "core.probe" not in jobs  # only with CIVICDESK_SCHEDULER_PROBE_FILE set


def test_two_different_jobs_under_one_name_are_refused() -> None:
    with pytest.raises(
        ImproperlyConfigured, match=r"Two periodic jobs are named 'channels\.sweep'"
    ):

        @periodic_job(every=timedelta(minutes=5), name="channels.sweep")
        def another() -> None:
            return

    assert discover_jobs()["channels.sweep"].every == timedelta(seconds=15)


def test_a_job_must_have_a_positive_period() -> None:
    with pytest.raises(ImproperlyConfigured, match="must be positive"):
        periodic_job(every=timedelta(0), name="core.never")


def test_restarts_back_off_doubling_up_to_a_cap() -> None:
    delays = [restart_delay(crashes_in_a_row=n) for n in range(1, 8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
