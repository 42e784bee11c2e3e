"""The inbox search finds a case by its citizen's email, phone or address, within the filters."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from civicdesk.cases.services import change_case_status
from civicdesk.workspace.tests.conftest import OpenCase
from civicdesk.workspace.tests.test_inbox import references


@pytest.fixture
def listed(ann_client: Client) -> Any:
    """References listed for a search (oldest first, every view), other filters in `extra`."""

    def _listed(search: str, extra: dict[str, Any] | None = None) -> list[str]:
        params = {"view": "all", "sort": "oldest", "search": search, **(extra or {})}
        response = ann_client.get("/workspace/", params)
        assert response.status_code == 200
        return references(response.content.decode())

    return _listed


@pytest.mark.parametrize(
    "typed",
    ["+447911123456", "+44 7911 123456", "07911 123456", "07911-123-456", "(07911) 123 456"],
)
def test_a_phone_number_is_found_however_it_is_typed(
    open_case: OpenCase, listed: Any, typed: str
) -> None:
    caller = open_case(name="Sam Rees", email="sam@mail.example", phone="07911 123456")
    open_case(name="Other Person", email="other@mail.example", phone="+447911123457")

    assert listed(typed) == [caller.reference]


def test_an_email_is_found_in_any_letter_case_and_by_a_part_with_its_at_sign(
    open_case: OpenCase, listed: Any
) -> None:
    writer = open_case(name="Sam Rees", email="Sam.Rees@Mail.Example")
    other = open_case(name="Jo Citizen", email="jo@mail.example")

    assert listed("SAM.REES@MAIL.EXAMPLE") == [writer.reference]
    assert listed(" sam.rees@mail.example ") == [writer.reference]
    assert listed("sam.rees@") == [writer.reference]
    assert listed("@mail.example") == [writer.reference, other.reference]


def test_an_address_fragment_finds_the_case_whose_answers_hold_it(
    open_case: OpenCase, listed: Any
) -> None:
    river = open_case(answers={"bin_type": "general", "address": "14 Mill Lane, Riverton"})
    pothole = open_case(
        service_code="pothole",
        answers={"location": "Strada Mărului, lângă școală"},
        description="Deep hole",
    )

    assert listed("mill lane") == [river.reference]
    assert listed("14 Mill") == [river.reference]
    assert listed("Mărului") == [pothole.reference]
    # Question codes and choice keys are not addresses: only the written answers are searched.
    assert listed("location") == []
    assert listed("address") == []


def test_a_search_that_matches_nothing_lists_nothing(open_case: OpenCase, listed: Any) -> None:
    open_case(name="Sam Rees", email="sam@mail.example", phone="+447911123456")

    assert listed("Nowhere Crescent") == []
    assert listed("nobody@mail.example") == []
    assert listed("+447911000000") == []
    assert listed("100%") == []
    assert listed("_") == []


def test_a_search_never_shows_a_case_another_filter_excludes(
    riverton: Any, open_case: OpenCase, listed: Any
) -> None:
    open_one = open_case(email="sam@mail.example", phone="+447911123456")
    closed = open_case(email="sam@mail.example")
    pothole = open_case(
        service_code="pothole",
        email="pat@mail.example",
        answers={"location": "14 Mill Lane"},
        description="Deep hole",
    )
    change_case_status(case=closed, status="closed", by=riverton.ann)
    assert (open_one.assignee, closed.assignee) == (riverton.ann, riverton.bob)  # the rota

    assert listed("07911 123456") == [open_one.reference]
    assert listed("07911 123456", {"status": ""}) == [open_one.reference, closed.reference]
    assert listed("07911 123456", {"status": "closed"}) == [closed.reference]
    assert listed("Mill Lane") == [pothole.reference]
    assert listed("Mill Lane", {"service": riverton.pothole.pk}) == [pothole.reference]
    assert listed("Mill Lane", {"service": riverton.missed_bin.pk}) == []
    assert listed("@mail.example", {"service": riverton.pothole.pk}) == [pothole.reference]
    assert listed("sam@mail.example", {"view": "mine", "status": ""}) == [open_one.reference]
    assert listed("sam@mail.example", {"view": "unassigned", "status": ""}) == []


def test_a_search_keeps_the_inbox_query_count_constant(
    open_case: OpenCase, ann_client: Client
) -> None:
    for _ in range(12):
        open_case(email="sam@mail.example", phone="+447911123456")

    counts = {}
    for search in ("07911 123456", "sam@mail.example", "River Street", "Jo"):
        with CaptureQueriesContext(connection) as queries:
            response = ann_client.get("/workspace/", {"view": "all", "search": search})
        assert len(references(response.content.decode())) == 12
        counts[search] = len(queries)

    assert set(counts.values()) == {7}


def test_the_search_hint_says_what_it_finds(ann_client: Client) -> None:
    html = ann_client.get("/workspace/").content.decode()

    assert "Reference, subject, citizen name, email or phone, or address" in html
