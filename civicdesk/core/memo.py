"""Lookups remembered for the length of one unit of work, such as a worker's batch of payloads.

A worker turning 50 stored contacts into cases would otherwise read the same service, queue,
keyword rules and service-level policy 50 times. Inside `remembered_lookups()` a selector that
wraps its query in `remembered(key, compute)` runs it once and hands every later caller the
same answer; outside such a block `remembered` simply computes, so pages, the API and tests see
every change at once.

The scope is the staleness bound: an administrator's edit is seen by the next batch (a
fraction of a second later under load), never by one already running. That is why this is a
scope rather than a per-process cache with a time to live: nothing needs invalidating, and
nothing outside a batch can ever read an old value. Values must be treated as read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_scope: ContextVar[dict[Hashable, Any] | None] = ContextVar("civicdesk_memo", default=None)


@contextmanager
def remembered_lookups() -> Iterator[None]:
    """Remember lookups until the block ends; a nested block shares the outer one's memory."""
    if _scope.get() is not None:
        yield
        return
    token = _scope.set({})
    try:
        yield
    finally:
        _scope.reset(token)


def remembered(key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()`, once per `key` inside `remembered_lookups()`; every time outside one."""
    memory = _scope.get()
    if memory is None:
        return compute()
    if key not in memory:
        memory[key] = compute()
    value: T = memory[key]
    return value
