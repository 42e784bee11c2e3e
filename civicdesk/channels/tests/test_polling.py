"""The poller: every payload stored before the cursor moves; errors recorded, never raised."""

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from civicdesk.channels import registry
from civicdesk.channels.config import AccountConfig
from civicdesk.channels.contracts import (
    ChannelAdapter,
    DeliveryResult,
    InboundMessage,
    OutgoingMessage,
    PollResult,
    RawPayload,
    SenderContact,
    json_object,
    text_field,
)
from civicdesk.channels.models import ChannelAccount, InboundPayload, PayloadStatus
from civicdesk.channels.polling import POLL_LEASE
from civicdesk.channels.selectors import poll_progress_text
from civicdesk.channels.services import PollReport, poll_account, poll_accounts
from civicdesk.core.clock import now
from civicdesk.core.periodic import discover_jobs

pytestmark = pytest.mark.django_db


class MailboxConfig(AccountConfig):
    polled: bool = True


class MailboxAdapter(ChannelAdapter):
    """A polled mailbox: `inbox` is the far side, the cursor is how many were fetched."""

    kind = "testmailbox"
    label = "Test mailbox"
    polls = True
    config_schema = MailboxConfig
    inbox: ClassVar[list[dict[str, str]]] = []
    fail_with: ClassVar[BaseException | None] = None
    cursors_seen: ClassVar[list[str]] = []

    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        data = json_object(payload)
        return InboundMessage(
            channel=self.kind,
            provider_message_id=text_field(data, "id", required=True),
            body=text_field(data, "text", required=True),
            sender=(SenderContact(kind="email", value=text_field(data, "from", required=True)),),
        )

    def send(self, message: OutgoingMessage, config: Any) -> DeliveryResult:
        return DeliveryResult.sent()

    def polls_account(self, config: MailboxConfig) -> bool:
        return config.polled

    def poll(self, config: Any, cursor: str) -> PollResult:
        self.cursors_seen.append(cursor)
        if self.fail_with is not None:
            raise self.fail_with
        start = int(cursor or 0)
        fetched = self.inbox[start:]
        payloads = [RawPayload(body=json.dumps(item).encode()) for item in fetched]
        return PollResult(payloads=payloads, cursor=str(start + len(fetched)))


@pytest.fixture
def mailbox() -> Iterator[ChannelAccount]:
    MailboxAdapter.inbox = [
        {"id": "mail-1", "from": "ana@example.org", "text": "Pothole on Main Street"},
        {"id": "mail-2", "from": "dan@example.org", "text": "Streetlight out"},
    ]
    MailboxAdapter.fail_with = None
    MailboxAdapter.cursors_seen = []
    with registry.override_adapters(MailboxAdapter):
        yield ChannelAccount.objects.create(kind="testmailbox", name="Town hall inbox")


def test_a_poll_stores_every_payload_then_moves_the_cursor(
    riverton: Any, mailbox: ChannelAccount
) -> None:
    inactive = ChannelAccount.objects.create(kind="testmailbox", name="Old", is_active=False)
    assert poll_accounts() == PollReport(accounts_polled=1, payloads_stored=2, errors=0)
    # Stored, and enqueued for processing after commit (as a webhook payload is).
    stored = InboundPayload.objects.order_by("id")
    assert [(p.provider_message_id, p.account_id, p.status) for p in stored] == [
        ("mail-1", mailbox.pk, PayloadStatus.RECEIVED),
        ("mail-2", mailbox.pk, PayloadStatus.RECEIVED),
    ]
    mailbox.refresh_from_db()
    assert mailbox.poll_cursor == "2"
    assert mailbox.last_polled_at is not None
    assert mailbox.last_poll_error == ""
    inactive.refresh_from_db()
    assert inactive.last_polled_at is None

    MailboxAdapter.inbox.append({"id": "mail-3", "from": "ana@example.org", "text": "Thanks"})
    assert poll_accounts().payloads_stored == 1
    assert MailboxAdapter.cursors_seen == ["", "2"]
    mailbox.refresh_from_db()
    assert mailbox.poll_cursor == "3"


def test_a_failing_poll_is_recorded_and_the_cursor_stays(
    riverton: Any, mailbox: ChannelAccount
) -> None:
    MailboxAdapter.fail_with = ConnectionError("mailbox unreachable")
    assert poll_accounts() == PollReport(accounts_polled=1, payloads_stored=0, errors=1)
    mailbox.refresh_from_db()
    assert mailbox.last_poll_error == "ConnectionError: mailbox unreachable"
    assert mailbox.last_polled_at is not None
    assert mailbox.poll_cursor == ""
    assert InboundPayload.objects.count() == 0

    MailboxAdapter.fail_with = None
    assert poll_accounts().payloads_stored == 2
    mailbox.refresh_from_db()
    assert (mailbox.poll_cursor, mailbox.last_poll_error) == ("2", "")


def test_payloads_fetched_again_after_a_crash_are_deduplicated(
    riverton: Any, mailbox: ChannelAccount
) -> None:
    poll_accounts()
    # A crash after storing but before the cursor was saved: the next poll starts over.
    ChannelAccount.objects.filter(pk=mailbox.pk).update(poll_cursor="")
    assert poll_accounts().payloads_stored == 0
    assert InboundPayload.objects.count() == 2


def test_the_poller_is_a_periodic_job() -> None:
    job = discover_jobs()["channels.poll"]
    assert job.run.__module__ == "civicdesk.channels.jobs"


def test_an_account_its_adapter_does_not_poll_is_left_alone(
    riverton: Any, mailbox: ChannelAccount
) -> None:
    quiet = ChannelAccount.objects.create(
        kind="testmailbox", name="Listener", config={"polled": False}
    )
    assert poll_accounts() == PollReport(accounts_polled=1, payloads_stored=2, errors=0)
    quiet.refresh_from_db()
    assert (quiet.last_polled_at, quiet.poll_cursor) == (None, "")
    assert InboundPayload.objects.filter(account=quiet).count() == 0


def test_an_account_polled_elsewhere_is_not_polled_twice(
    riverton: Any, mailbox: ChannelAccount
) -> None:
    held_until = now() + POLL_LEASE
    ChannelAccount.objects.filter(pk=mailbox.pk).update(poll_lease_until=held_until)
    assert poll_account(account=mailbox).busy is True
    assert poll_accounts() == PollReport(accounts_polled=0, payloads_stored=0, errors=0)
    assert MailboxAdapter.cursors_seen == []
    # A poller that died: its lease runs out and the next poll takes the account.
    ChannelAccount.objects.filter(pk=mailbox.pk).update(poll_lease_until=now())
    assert poll_accounts().payloads_stored == 2
    mailbox.refresh_from_db()
    assert mailbox.poll_lease_until is None
    assert mailbox.poll_progress["fetched"] == 2
    assert poll_progress_text(mailbox) == "2 fetched (2 new)"


def test_a_failed_poll_shows_where_it_stopped(riverton: Any, mailbox: ChannelAccount) -> None:
    MailboxAdapter.fail_with = ConnectionError("mailbox unreachable")
    result = poll_account(account=mailbox)
    assert result.error == "ConnectionError: mailbox unreachable"
    mailbox.refresh_from_db()
    assert poll_progress_text(mailbox) == "0 fetched (0 new) — stopped (see the error)"


def test_an_interrupted_poll_gives_the_account_back(riverton: Any, mailbox: ChannelAccount) -> None:
    MailboxAdapter.fail_with = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        poll_account(account=mailbox)
    mailbox.refresh_from_db()
    assert mailbox.poll_lease_until is None
    assert mailbox.last_poll_error == "The poll was interrupted; the next poll goes on."
    MailboxAdapter.fail_with = None
    assert poll_account(account=mailbox).progress.stored == 2


def test_a_poll_whose_account_was_taken_over_stops(riverton: Any, mailbox: ChannelAccount) -> None:
    class Intruder(MailboxAdapter):
        def poll_into(self, config: Any, cursor: str, intake: Any) -> None:
            intake.store(RawPayload(body=json.dumps(self.inbox[0]).encode()))
            # Meanwhile our lease ran out and another poller took the account.
            ChannelAccount.objects.filter(pk=mailbox.pk).update(poll_lease_until=now() + POLL_LEASE)
            intake.checkpoint("1")

    with registry.override_adapters(Intruder):
        result = poll_account(account=mailbox)
    assert result.error == ("PollLeaseLost: another poll took the account over; this one stopped")
    mailbox.refresh_from_db()
    assert mailbox.poll_cursor == ""  # the other poller's to move
    assert InboundPayload.objects.count() == 1
