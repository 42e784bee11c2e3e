"""Periodic jobs: declared in each app's `jobs.py` with @periodic_job, run by `civicdesk scheduler`.

The registry lives in the kernel and imports no app: apps register themselves when
`discover_jobs()` imports every installed app's `jobs` module (as the admin discovers
`admin.py`). A job is a thin, argument-free call to one service; see
docs/how-to/add-a-periodic-job.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

JobFunction = TypeVar("JobFunction", bound=Callable[[], object])


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    run: Callable[[], object]


_JOBS: dict[str, PeriodicJob] = {}


def periodic_job(*, every: timedelta, name: str) -> Callable[[JobFunction], JobFunction]:
    """Register the decorated function to run every `every` on the active scheduler.

    `name` is stable and unique ("<app>.<what>", e.g. "channels.sweep"): logs and `--only` use
    it. A second, different function under the same name is a configuration error.
    """
    if every <= timedelta(0):
        raise ImproperlyConfigured(f"Periodic job {name!r}: `every` must be positive.")

    def register(function: JobFunction) -> JobFunction:
        known = _JOBS.get(name)
        if known is not None and _identity(known.run) != _identity(function):
            raise ImproperlyConfigured(f"Two periodic jobs are named {name!r}.")
        _JOBS[name] = PeriodicJob(name=name, every=every, run=function)
        return function

    return register


def discover_jobs() -> dict[str, PeriodicJob]:
    """Import every installed app's `jobs` module and answer the jobs they declared, by name."""
    autodiscover_modules("jobs")
    return dict(sorted(_JOBS.items()))


def _identity(function: Callable[[], object]) -> tuple[str, str]:
    # A module imported twice (autoreload, tests) registers a new object for the same function.
    return (function.__module__, function.__qualname__)
