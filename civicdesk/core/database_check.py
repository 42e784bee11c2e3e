"""At start-up, one direct connection to the database, outside the pool.

With the pool on (the default on PostgreSQL), a connection the pool cannot open is reported
only as a pool time-out, which is a temporary fault everywhere else (core.transient): wrong
settings — no such database, a password refused, an unknown role — would be answered "busy,
retry" for ever and retried for ever by the worker. `civicdesk serve` and `civicdesk worker`
therefore connect once themselves before they start, and stop with the server's own words when
the settings are wrong. A server that is not up yet (refused, unreachable, starting) is waited
for, for a while, since it usually comes up beside us.
"""

from __future__ import annotations

import logging
import re
import time

from django.core.management.base import CommandError
from django.db import connection

log = logging.getLogger("civicdesk.startup")

# What the server answers for settings that will never work: SQLSTATE classes 28 (invalid
# authorisation: wrong password, unknown role, refused by pg_hba) and 3D (no such database).
# A refused connection attempt usually reaches psycopg without its SQLSTATE, only as the
# server's FATAL message, so the message is read too (PostgreSQL's own English wording).
_SETTINGS_ERRORS = ("28", "3D")
_NO_DATABASE = re.compile(r'database "[^"]*" does not exist')
_REFUSED_LOGIN = re.compile(
    r'password authentication failed|role "[^"]*" does not exist|no pg_hba\.conf entry'
)


def check_database_settings(*, wait_seconds: float = 30.0) -> None:
    """Raise CommandError, with the database's message, if the settings can never connect
    (no such database, a refused login). A server that does not answer within `wait_seconds`
    (down, slow, out of connection slots) is logged as an error and start-up goes on: the
    processes then answer 503 and retry until it is back, as they would had it gone away later."""
    if connection.vendor != "postgresql":
        return  # SQLite: the file is created on first use; migrations say the rest
    import psycopg

    params = connection.get_connection_params()
    params.pop("context", None)
    params.pop("cursor_factory", None)
    # DATABASE_URL may set its own (`?connect_timeout=10`); 5 s otherwise.
    params.setdefault("connect_timeout", 5)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            psycopg.connect(**params).close()
            return
        except psycopg.OperationalError as exc:
            sqlstate = _sqlstate(exc)
            if sqlstate.startswith(_SETTINGS_ERRORS):
                raise CommandError(_explain(exc, sqlstate)) from exc
            if time.monotonic() >= deadline:
                log.error("%s Starting anyway; retrying.", _explain(exc, sqlstate))
                return
            log.warning("The database is not answering yet (%s); waiting for it", exc)
            time.sleep(1)


def _sqlstate(exc: Exception) -> str:
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if not sqlstate and _NO_DATABASE.search(str(exc)):
        return "3D000"
    if not sqlstate and _REFUSED_LOGIN.search(str(exc)):
        return "28000"
    return sqlstate


def _explain(exc: Exception, sqlstate: str) -> str:
    name = connection.settings_dict.get("NAME")
    host = connection.settings_dict.get("HOST") or "localhost"
    first = " ".join(str(exc).split()) or type(exc).__name__
    if sqlstate.startswith("3D"):
        advice = f"the database {name!r} does not exist on {host}: create it, or fix DATABASE_URL"
    elif sqlstate.startswith("28"):
        advice = f"{host} refused the user or password in DATABASE_URL"
    else:
        advice = f"no answer from {host}: is PostgreSQL running, and is DATABASE_URL right?"
    return f"Cannot connect to the database: {advice} ({first})."
