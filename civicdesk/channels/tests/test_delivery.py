import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.utils import timezone

from civicdesk.channels import registry
from civicdesk.channels.adapters.console.adapter import ConsoleAdapter
from civicdesk.channels.contracts import (
    ChannelAdapter,
    DeliveryResult,
    InboundMessage,
    OutgoingMessage,
    RawPayload,
)
from civicdesk.channels.delivery_policy import backoff_delay
from civicdesk.channels.models import DeliveryStatus, OutboundDelivery
from civicdesk.channels.services import (
    PrivateMessageRefused,
    attempt_delivery,
    queue_delivery,
    retry_due_deliveries,
)
from civicdesk.core.errors import DomainError

pytestmark = pytest.mark.django_db


class FlakyAdapter(ChannelAdapter):
    """The far side of a provider that fails as scripted."""

    kind = "flaky"
    label = "Flaky test channel"
    script: ClassVar[list[DeliveryResult]] = []

    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        raise NotImplementedError

    def send(self, message: OutgoingMessage, config: object) -> DeliveryResult:
        return self.script.pop(0)


@pytest.fixture
def flaky() -> Iterator[type[FlakyAdapter]]:
    with registry.override_adapters(FlakyAdapter):
        yield FlakyAdapter
    FlakyAdapter.script.clear()


def _message(**overrides: Any) -> OutgoingMessage:
    fields: dict[str, Any] = {"channel": "flaky", "recipient": "+447911123456", "body": "Hello"}
    fields.update(overrides)
    return OutgoingMessage(**fields)


def test_private_content_is_never_queued(flaky: Any) -> None:
    with pytest.raises(PrivateMessageRefused):
        queue_delivery(message=_message(is_private=True))
    assert OutboundDelivery.objects.count() == 0


def test_a_channel_that_needs_an_address_refuses_an_empty_one(flaky: Any) -> None:
    with pytest.raises(DomainError, match="No Flaky test channel address"):
        queue_delivery(message=_message(recipient=""))


def test_temporary_failures_are_retried_with_backoff_until_sent(
    flaky: Any, django_capture_on_commit_callbacks: Any
) -> None:
    flaky.script[:] = [
        DeliveryResult.temporary_failure("503 from provider"),
        DeliveryResult.sent("prov-42"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        delivery = queue_delivery(message=_message())
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.attempts == 1
    assert delivery.last_error == "503 from provider"
    assert delivery.next_attempt_at is not None
    first_try = delivery.tries.get()
    assert delivery.next_attempt_at - first_try.attempted_at == timedelta(seconds=30)

    # Not due yet: nothing happens.
    assert retry_due_deliveries() == 0
    OutboundDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=first_try.attempted_at)
    assert retry_due_deliveries() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_message_id == "prov-42"
    assert [t.outcome for t in delivery.tries.all()] == ["temporary_failure", "sent"]


def test_a_permanent_failure_stops_at_once(
    flaky: Any, django_capture_on_commit_callbacks: Any
) -> None:
    flaky.script[:] = [DeliveryResult.permanent_failure("number does not exist")]
    with django_capture_on_commit_callbacks(execute=True):
        delivery = queue_delivery(message=_message())
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "number does not exist"
    assert attempt_delivery(delivery_id=delivery.pk).attempts == 1  # idempotent once finished


def test_retries_stop_after_the_maximum_attempts(
    flaky: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CIVICDESK_DELIVERY_MAX_ATTEMPTS = 2
    flaky.script[:] = [DeliveryResult.temporary_failure("timeout")] * 2
    with django_capture_on_commit_callbacks(execute=True):
        delivery = queue_delivery(message=_message())
    attempt_delivery(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 2


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff_delay(50) == timedelta(hours=1)


def test_the_console_channel_prints_the_message(django_capture_on_commit_callbacks: Any) -> None:
    stream = io.StringIO()
    ConsoleAdapter.stream = stream
    try:
        with django_capture_on_commit_callbacks(execute=True):
            delivery = queue_delivery(
                message=OutgoingMessage(
                    channel="console",
                    recipient="jo@mail.example",
                    subject="[RIV-1] Bins",
                    body="We will collect it tomorrow.",
                    thread_reference="RIV-1",
                )
            )
    finally:
        ConsoleAdapter.stream = None
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    printed = stream.getvalue()
    assert "To: jo@mail.example" in printed
    assert "We will collect it tomorrow." in printed


def test_an_interrupted_send_is_picked_up_again(flaky: Any) -> None:
    flaky.script[:] = [DeliveryResult.sent("prov-7")]
    delivery = queue_delivery(message=_message())  # the task never ran: no commit here
    OutboundDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENDING)
    assert attempt_delivery(delivery_id=delivery.pk).status == DeliveryStatus.SENDING
    assert retry_due_deliveries() == 0  # a send in progress is left alone

    OutboundDelivery.objects.filter(pk=delivery.pk).update(
        updated_at=timezone.now() - timedelta(minutes=11)
    )
    assert retry_due_deliveries() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.provider_message_id == "prov-7"


@pytest.mark.parametrize("retry_after", [1e20, 365 * 86400.0, float("inf"), float("nan"), -60.0])
def test_an_adapters_retry_after_is_capped_at_an_hour_and_the_attempt_recorded(
    flaky: Any, django_capture_on_commit_callbacks: Any, retry_after: float
) -> None:
    flaky.script[:] = [DeliveryResult.temporary_failure("429", retry_after=retry_after)]
    with django_capture_on_commit_callbacks(execute=True):
        delivery = queue_delivery(message=_message())
    delivery.refresh_from_db()
    attempt = delivery.tries.get()
    assert (delivery.status, delivery.attempts, attempt.outcome) == (
        DeliveryStatus.RETRYING,
        1,
        "temporary_failure",
    )
    assert delivery.next_attempt_at is not None
    expected = timedelta(hours=1) if retry_after > 3600 else timedelta(seconds=30)
    assert delivery.next_attempt_at - attempt.attempted_at == expected
