"""PostgreSQL connection pools survive a fork: the child (an RQ work horse) opens its own."""

from __future__ import annotations

import os

import pytest
from django.db import connection


@pytest.mark.django_db
def test_a_forked_child_opens_its_own_pool_and_leaves_the_parents_alone() -> None:
    if connection.vendor != "postgresql" or not connection.settings_dict["OPTIONS"].get("pool"):
        pytest.skip("PostgreSQL's connection pool")
    parent_pool = connection.pool  # type: ignore[attr-defined]
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        code = 1
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            code = 0 if connection.pool is not parent_pool else 2  # type: ignore[attr-defined]
        finally:
            os.write(write, bytes([code]))
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(child, 0)
    assert answer == b"\x00"
    with connection.cursor() as cursor:  # the parent's connections still work
        cursor.execute("SELECT 1")
