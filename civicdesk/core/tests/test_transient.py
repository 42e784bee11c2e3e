import sqlite3

import pytest
from django.db import utils as db_utils

from civicdesk.core.transient import is_transient, retry_transient


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _wrapped(cause: BaseException) -> db_utils.OperationalError:
    try:
        raise db_utils.OperationalError(str(cause)) from cause
    except db_utils.OperationalError as exc:
        return exc


@pytest.mark.parametrize("sqlstate", ["40001", "40P01", "08006", "53300", "57P01", "55P03"])
def test_postgresql_faults_that_pass_are_transient(sqlstate: str) -> None:
    assert is_transient(_wrapped(_PgError(sqlstate)))


@pytest.mark.parametrize("sqlstate", ["23505", "22P02", "42P01"])
def test_postgresql_errors_in_the_work_itself_are_not(sqlstate: str) -> None:
    assert not is_transient(_wrapped(_PgError(sqlstate)))


def test_a_locked_sqlite_database_is_transient_and_a_bad_query_is_not() -> None:
    assert is_transient(_wrapped(sqlite3.OperationalError("database is locked")))
    assert not is_transient(_wrapped(sqlite3.OperationalError("no such table: x")))
    assert not is_transient(ValueError("database is locked"))


@pytest.mark.django_db(transaction=True)
def test_retry_transient_retries_until_the_fault_passes() -> None:
    calls: list[int] = []

    def work() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _wrapped(sqlite3.OperationalError("database is locked"))
        return "done"

    assert retry_transient(work, first_delay=0.001) == "done"
    assert len(calls) == 3


@pytest.mark.django_db(transaction=True)
def test_retry_transient_gives_up_on_a_permanent_error_at_once() -> None:
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        raise _wrapped(sqlite3.OperationalError("no such table: x"))

    with pytest.raises(db_utils.OperationalError):
        retry_transient(work, first_delay=0.001)
    assert len(calls) == 1


@pytest.mark.parametrize(
    "text",
    [
        'connection failed: FATAL:  password authentication failed for user "civicdesk"',
        'connection failed: FATAL:  database "civicdesk" does not exist',
    ],
)
def test_a_connection_refused_for_its_settings_is_not_transient(text: str) -> None:
    assert not is_transient(db_utils.OperationalError(text))


def test_a_dropped_connection_is_transient() -> None:
    assert is_transient(db_utils.OperationalError("server closed the connection unexpectedly"))


@pytest.mark.parametrize(
    "exc",
    [ConnectionResetError(104, "reset"), BrokenPipeError(32, "pipe"), ConnectionRefusedError()],
)
def test_a_socket_reset_or_broken_pipe_is_transient(exc: OSError) -> None:
    # Raised bare by a socket to Redis or the database that the other end closed.
    assert is_transient(exc)
    assert is_transient(_wrapped(exc))


def test_other_os_errors_are_not_transient() -> None:
    assert not is_transient(FileNotFoundError(2, "gone"))
    assert not is_transient(PermissionError(13, "denied"))


def _raised_while_handling_a_reset() -> ValueError:
    try:
        try:
            raise ConnectionResetError("peer reset")
        except ConnectionResetError:
            raise ValueError("the message could not be read")  # noqa: B904 - the point
    except ValueError as exc:
        return exc
    raise AssertionError("unreachable")


def test_an_error_raised_while_handling_a_socket_error_is_its_own_error() -> None:
    unreadable = _raised_while_handling_a_reset()
    assert isinstance(unreadable.__context__, ConnectionResetError)
    assert not is_transient(unreadable)
    wrapped = RuntimeError("wrapped")
    wrapped.__cause__ = ConnectionResetError("peer reset")
    assert is_transient(wrapped)  # explicit wrapping of a temporary fault still counts
