"""Sending is a lease: a dead worker's delivery is taken over once its lease runs out, a live
worker's slow send never is, and temporary database faults around a send are retried."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.db import connection

from civicdesk.channels import registry
from civicdesk.channels.contracts import (
    ChannelAdapter,
    DeliveryResult,
    InboundMessage,
    OutgoingMessage,
    RawPayload,
)
from civicdesk.channels.delivery import idempotency_key
from civicdesk.channels.models import DeliveryStatus, OutboundDelivery
from civicdesk.channels.services import attempt_delivery, retry_due_deliveries
from civicdesk.core.clock import now
from civicdesk.core.tests.db_faults import one_temporary_fault

pytestmark = pytest.mark.django_db(transaction=True)


class SlowAdapter(ChannelAdapter):
    """A provider whose first call waits until the test lets it answer; later calls answer at
    once. Records every message it was handed."""

    kind = "slow"
    label = "Slow test channel"
    calls: ClassVar[list[OutgoingMessage]] = []
    entered: ClassVar[threading.Event] = threading.Event()
    release: ClassVar[threading.Event] = threading.Event()

    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        raise NotImplementedError

    def send(self, message: OutgoingMessage, config: object) -> DeliveryResult:
        self.calls.append(message)
        number = len(self.calls)
        if number == 1:
            self.entered.set()
            assert self.release.wait(20), "the test never released the first send"
        return DeliveryResult.sent(f"prov-{number}")


@pytest.fixture
def slow() -> Iterator[type[SlowAdapter]]:
    SlowAdapter.calls.clear()
    SlowAdapter.entered.clear()
    SlowAdapter.release.clear()
    with registry.override_adapters(SlowAdapter):
        yield SlowAdapter
    SlowAdapter.release.set()


@pytest.fixture
def queued() -> Callable[[], OutboundDelivery]:
    def queue() -> OutboundDelivery:
        # A row as queue_delivery stores it, committed so that other threads see it, with no
        # task enqueued (the immediate backend would send it at once): the test sends it.
        return OutboundDelivery.objects.create(
            channel="slow", recipient="+447911123456", body="Hello"
        )

    return queue


def _send_in_thread(delivery_id: int, results: list[OutboundDelivery]) -> threading.Thread:
    def run() -> None:
        try:
            results.append(attempt_delivery(delivery_id=delivery_id))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_send_left_by_a_dead_worker_is_taken_over_once_its_lease_runs_out(
    slow: type[SlowAdapter],
    queued: Callable[[], OutboundDelivery],
) -> None:
    SlowAdapter.release.set()
    delivery = queued()
    moment = now()
    # A worker claimed it 20 s ago and died: its lease (30 s) still runs for 10 s.
    OutboundDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENDING,
        claim_token="dead",
        claimed_until=moment + timedelta(seconds=10),
    )
    assert retry_due_deliveries() == 0
    assert attempt_delivery(delivery_id=delivery.pk).status == DeliveryStatus.SENDING
    assert slow.calls == []

    OutboundDelivery.objects.filter(pk=delivery.pk).update(
        claimed_until=moment - timedelta(seconds=1)
    )
    assert retry_due_deliveries() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_message_id, delivery.attempts) == (
        DeliveryStatus.SENT,
        "prov-1",
        1,
    )
    assert (delivery.claim_token, delivery.claimed_until) == ("", None)
    # The second send carries the same idempotency key the dead worker's did.
    assert [m.idempotency_key for m in slow.calls] == [idempotency_key(delivery)]


def test_a_claim_holds_the_delivery_for_the_lease_and_the_result_clears_it(
    slow: type[SlowAdapter],
    queued: Callable[[], OutboundDelivery],
) -> None:
    delivery = queued()
    results: list[OutboundDelivery] = []
    before = now()
    thread = _send_in_thread(delivery.pk, results)
    try:
        assert slow.entered.wait(10)
        claimed = OutboundDelivery.objects.get(pk=delivery.pk)
        assert claimed.status == DeliveryStatus.SENDING
        assert len(claimed.claim_token) == 32
        assert claimed.claimed_until is not None
        lease = claimed.claimed_until - before
        assert timedelta(seconds=30) <= lease < timedelta(seconds=32)
        assert retry_due_deliveries() == 0
    finally:
        slow.release.set()
        thread.join(10)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.claim_token, delivery.claimed_until) == (
        DeliveryStatus.SENT,
        "",
        None,
    )


def test_a_live_workers_slow_send_is_renewed_and_never_sent_twice(
    slow: type[SlowAdapter], queued: Callable[[], OutboundDelivery], settings: Any
) -> None:
    settings.CIVICDESK_DELIVERY_LEASE_SECONDS = 1  # renewed every third of a second
    delivery = queued()
    results: list[OutboundDelivery] = []
    thread = _send_in_thread(delivery.pk, results)
    try:
        assert slow.entered.wait(10)
        tried = 0
        deadline = now() + timedelta(seconds=2.5)  # two and a half leases
        while now() < deadline:
            tried += retry_due_deliveries()
            threading.Event().wait(0.05)
        renewed = OutboundDelivery.objects.get(pk=delivery.pk).claimed_until
        assert renewed is not None
        assert renewed > now()
        assert tried == 0
    finally:
        slow.release.set()
        thread.join(10)
    delivery.refresh_from_db()
    assert len(slow.calls) == 1
    assert (delivery.status, delivery.provider_message_id, delivery.attempts) == (
        DeliveryStatus.SENT,
        "prov-1",
        1,
    )


def test_a_worker_whose_lease_was_taken_over_leaves_the_result_to_the_new_holder(
    slow: type[SlowAdapter],
    queued: Callable[[], OutboundDelivery],
) -> None:
    delivery = queued()
    results: list[OutboundDelivery] = []
    thread = _send_in_thread(delivery.pk, results)
    try:
        assert slow.entered.wait(10)
        # It could not renew (cut off from the database) and its lease ran out: the sweep
        # takes over and sends with the same idempotency key.
        OutboundDelivery.objects.filter(pk=delivery.pk).update(
            claimed_until=now() - timedelta(seconds=1)
        )
        assert retry_due_deliveries() == 1
    finally:
        slow.release.set()
        thread.join(10)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider_message_id, delivery.attempts) == (
        DeliveryStatus.SENT,
        "prov-2",
        1,
    )
    assert [m.idempotency_key for m in slow.calls] == [slow.calls[0].idempotency_key] * 2
    assert list(delivery.tries.order_by("id").values_list("outcome", "provider_message_id")) == [
        ("sent", "prov-2"),
        ("sent", "prov-1"),
    ]
    assert results[0].provider_message_id == "prov-2"


def test_a_temporary_database_fault_while_claiming_delays_the_send_but_never_fails_it(
    slow: type[SlowAdapter],
    queued: Callable[[], OutboundDelivery],
) -> None:
    slow.release.set()
    delivery = queued()
    with one_temporary_fault():
        sent = attempt_delivery(delivery_id=delivery.pk)
    assert (sent.status, sent.attempts, sent.provider_message_id) == (
        DeliveryStatus.SENT,
        1,
        "prov-1",
    )
    assert len(slow.calls) == 1
