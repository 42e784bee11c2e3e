"""Temporary faults: which errors go away by themselves, and retrying them.

A locked SQLite database, a PostgreSQL deadlock or serialization failure, a connection that
dropped or could not be had (pool exhausted, server restarting, too many connections), a
Redis time-out and a socket the other end reset are temporary: the same work succeeds when
tried again. They must be retried by the system, never recorded as a permanent failure that
needs a person.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import connection
from django.db import utils as db_utils

log = logging.getLogger(__name__)

T = TypeVar("T")

# SQLSTATE classes and codes that mean "try again": connection exceptions (08), insufficient
# resources (53: too many connections, out of memory), operator intervention (57P01 admin
# shutdown, 57P02 crash shutdown, 57P03 cannot connect now), lock not available (55P03),
# serialization failure (40001) and deadlock (40P01).
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53")
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03"}
# A connection refused for what it asked (a wrong password, a database or role that does not
# exist): a fault of the settings, not of the moment.
_PERMANENT_CONNECTION_FAILURES = (
    "authentication failed",
    "does not exist",
    "no pg_hba.conf entry",
    "unable to open database file",
)
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "database is busy")
_TRANSIENT_CLASS_NAMES = {
    # Named, not imported, so that this module needs neither the pool nor Redis installed.
    "PoolTimeout",
    "TooManyRequests",
    "ConnectionError",
    "TimeoutError",
    "BusyLoadingError",
}
_TRANSIENT_PACKAGES = {"psycopg_pool", "redis", "builtins"}


def is_transient(exc: BaseException) -> bool:
    """True when `exc` (or the error it wraps) is a fault that goes away when tried again.

    Only explicit wrapping counts (`raise ... from`, as Django does for database errors): an
    error raised while another was being handled (`__context__`) is its own error, and a
    permanent one must not pass for temporary because a socket error came before it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _is_transient_one(current):
            return True
        current = current.__cause__
    return False


def _is_transient_one(exc: BaseException) -> bool:
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate:
        return sqlstate in _TRANSIENT_SQLSTATES or sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES
    if isinstance(exc, db_utils.InterfaceError):
        return True  # the connection is gone: a new one is made on the next try
    if isinstance(exc, db_utils.OperationalError):
        text = str(exc).lower()
        if any(marker in text for marker in _SQLITE_TRANSIENT):
            return True
        if any(marker in text for marker in _PERMANENT_CONNECTION_FAILURES):
            return False  # wrong settings: trying again cannot help, a person must fix them
        # A PostgreSQL connection that failed or dropped carries no SQLSTATE.
        return "connection" in text or "server closed" in text or "terminating" in text
    package = type(exc).__module__.split(".")[0]
    # A socket the other end reset or closed (ConnectionResetError, BrokenPipeError) or refused
    # while it restarts, raised bare rather than wrapped by a driver.
    return isinstance(exc, ConnectionError | TimeoutError) or (
        type(exc).__name__ in _TRANSIENT_CLASS_NAMES and package in _TRANSIENT_PACKAGES
    )


def retry_transient(
    work: Callable[[], T],
    *,
    attempts: int = 6,
    first_delay: float = 0.05,
    max_delay: float = 2.0,
    what: str = "database work",
) -> T:
    """Run `work`, retrying temporary faults with jittered exponential backoff.

    Only useful outside a transaction: inside one, the failed transaction cannot be resumed,
    so the fault is raised at once for the caller that owns the transaction to retry.
    A connection left unusable by the fault is closed so the next try opens a fresh one.
    """
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Exception as exc:
            if attempt == attempts or connection.in_atomic_block or not is_transient(exc):
                raise
            log.warning("%s: temporary fault (try %d of %d): %s", what, attempt, attempts, exc)
            if not connection.is_usable():
                connection.close()
            time.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter, not secrecy
            delay = min(max_delay, delay * 2)
    raise AssertionError("unreachable")  # pragma: no cover
