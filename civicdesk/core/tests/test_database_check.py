"""Wrong database settings stop `serve` and `worker` at start-up with the server's words, rather
than being answered "busy" for ever behind the pool."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management.base import CommandError
from django.db import connection

from civicdesk.core.database_check import check_database_settings

pytestmark = pytest.mark.postgres_only


def test_the_test_database_passes(db: None) -> None:
    check_database_settings(wait_seconds=0)


def test_a_database_that_does_not_exist_is_named(db: None, settings: Any) -> None:
    original = dict(connection.settings_dict)
    try:
        connection.settings_dict["NAME"] = "civicdesk_no_such_database"
        with pytest.raises(CommandError, match="'civicdesk_no_such_database' does not exist"):
            check_database_settings(wait_seconds=0)
    finally:
        connection.settings_dict.update(original)


def test_a_server_that_does_not_answer_is_waited_for_then_reported_and_start_up_goes_on(
    db: None, caplog: pytest.LogCaptureFixture
) -> None:
    original = dict(connection.settings_dict)
    try:
        connection.settings_dict["PORT"] = "1"  # nothing listens there
        with caplog.at_level("WARNING", logger="civicdesk.startup"):
            check_database_settings(wait_seconds=1.5)
    finally:
        connection.settings_dict.update(original)
    messages = [record.getMessage() for record in caplog.records]
    assert any("not answering yet" in message for message in messages)
    assert any("no answer from" in m and "Starting anyway" in m for m in messages)


def test_the_worker_stops_at_once_on_wrong_settings(db: None, tmp_path: Path) -> None:
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/civicdesk_no_such_database"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CIVICDESK_VAR_DIR": str(tmp_path),
        "CIVICDESK_TASK_BACKEND": "database",
    }
    done = subprocess.run(
        [sys.executable, "-m", "civicdesk.cli", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "does not exist" in done.stderr


def test_a_role_the_server_does_not_know_is_a_refused_login(db: None) -> None:
    original = dict(connection.settings_dict)
    try:
        connection.settings_dict["USER"] = "civicdesk_no_such_role"
        with pytest.raises(CommandError, match="refused the user or password"):
            check_database_settings(wait_seconds=30)  # not waited for: it will never work
    finally:
        connection.settings_dict.update(original)


def test_a_connect_timeout_in_database_url_is_kept(db: None) -> None:
    """DATABASE_URL may say `?connect_timeout=10`: the check uses it rather than failing on
    two values for the same keyword."""
    options = connection.settings_dict["OPTIONS"]
    had = "connect_timeout" in options
    previous = options.get("connect_timeout")
    options["connect_timeout"] = 10
    try:
        check_database_settings(wait_seconds=0)
    finally:
        if had:
            options["connect_timeout"] = previous
        else:
            options.pop("connect_timeout")
