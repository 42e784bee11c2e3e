"""Resending status links: only to the address a request came from, never to an address
that another request tied to the same record."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from civicdesk.cases.models import Case
from civicdesk.channels.models import OutboundDelivery
from civicdesk.channels.services import accept_inbound, ensure_account
from tests.factories import portal_payload

pytestmark = pytest.mark.django_db

PHONE = "+40722123456"


@pytest.fixture(autouse=True)
def fresh_limits() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def test_an_address_attached_to_someone_elses_record_does_not_get_their_status_links(
    client: Client, riverton: Any
) -> None:
    ensure_account(kind="email", name="Help desk", values={"address": "help@riverton.example"})
    # Jo asks on the portal, giving her email and her phone number.
    jo = accept_inbound(
        channel="portal",
        raw=portal_payload(email="jo@mail.example", phone=PHONE,
                           description="Domestic violence next door; please call me."),
        process_now=True,
    )  # fmt: skip
    jos_case = Case.objects.get(reference=jo.payload.result_reference)
    # Eve knows Jo's phone number. She sends one request giving it, with her own address...
    accept_inbound(
        channel="portal",
        raw=portal_payload(email="eve@evil.example", phone=PHONE, name="Eve"),
        process_now=True,
    )
    # ...then asks for "her" links: she is mailed the private status link of Jo's request.
    client.post("/lost-link/", {"email": "eve@evil.example"})
    to_eve = OutboundDelivery.objects.filter(recipient="eve@evil.example")
    assert not any(jos_case.reference in delivery.body for delivery in to_eve)


def test_notices_about_a_case_go_only_to_the_address_it_came_from(riverton: Any) -> None:
    from civicdesk.cases.services import reply_to_case

    ensure_account(kind="email", name="Help desk", values={"address": "help@riverton.example"})
    jo = accept_inbound(
        channel="portal",
        raw=portal_payload(email="jo@mail.example", phone=PHONE),
        process_now=True,
    )
    jos_case = Case.objects.get(reference=jo.payload.result_reference)
    # Eve's request ties her address to Jo's record through Jo's phone number.
    accept_inbound(
        channel="portal",
        raw=portal_payload(email="eve@evil.example", phone=PHONE, name="Eve"),
        process_now=True,
    )
    reply_to_case(case=jos_case, author=riverton.ann, body="We have found your bin.")
    notices = OutboundDelivery.objects.filter(
        is_automatic=True, thread_reference=jos_case.reference
    )
    assert notices.exists()  # the reply waits on the portal: Jo is told where she wrote from
    assert {n.recipient for n in notices} == {"jo@mail.example"}
    assert not OutboundDelivery.objects.filter(
        recipient="eve@evil.example", thread_reference=jos_case.reference
    ).exists()
