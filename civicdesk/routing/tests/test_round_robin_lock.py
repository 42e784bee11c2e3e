"""Round-robin under concurrency: two contacts routed at once take turns, on real connections."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction

from civicdesk.routing.services import route_new_case


@pytest.mark.django_db(transaction=True)
def test_two_contacts_routed_at_once_go_to_different_agents(riverton: Any) -> None:
    """The first routing holds the rota's lock until it commits; the second waits for it and
    then sees who was just given a case. Without the lock both would read the same "next
    agent" (the first one's choice is not committed yet) and pick the same person."""
    first_routed = threading.Event()
    seen: dict[str, Any] = {}
    errors: list[BaseException] = []

    def first() -> None:
        with transaction.atomic():
            seen["first"] = route_new_case(service=riverton.missed_bin).assignee
            first_routed.set()
            time.sleep(0.5)  # still uncommitted: a slow transaction holding the rota
            seen["first_committed"] = time.monotonic()

    def second() -> None:
        assert first_routed.wait(10)
        with transaction.atomic():
            seen["second"] = route_new_case(service=riverton.missed_bin).assignee
            seen["second_routed"] = time.monotonic()

    def run(work: Any) -> None:
        try:
            work()
        except BaseException as exc:  # recorded for the assertion below
            errors.append(exc)
            first_routed.set()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert {seen["first"], seen["second"]} == {riverton.ann, riverton.bob}
    assert seen["second_routed"] >= seen["first_committed"]  # it waited its turn
