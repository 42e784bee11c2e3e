"""The channel carried through the case: the account and identity a citizen used are recorded,
replies go back the same way (or the way the agent chooses), files travel, receipts and the
fallback chain show on the case, and a citizen nobody can reach is said so before anyone
writes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from django.test import Client
from django.utils.timezone import localtime

from civicdesk.accounts.services import create_api_token
from civicdesk.cases.intake import handle_inbound_message
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.selectors import reply_routes
from civicdesk.cases.services import NewAttachment, open_case, reply_to_case
from civicdesk.cases.services.fallback import record_reply_fallback
from civicdesk.cases.services.messages import Unreachable
from civicdesk.channels import registry
from civicdesk.channels.contracts import (
    ChannelAdapter,
    DeliveryReceipt,
    DeliveryResult,
    InboundMessage,
    OutgoingAttachment,
    OutgoingMessage,
    RawPayload,
    ReceiptState,
    SenderContact,
    json_object,
)
from civicdesk.channels.models import ChannelAccount, DeliveryStatus, OutboundDelivery
from civicdesk.channels.receipts import record_receipts
from civicdesk.channels.services import accept_inbound
from civicdesk.citizens.services import ContactInput, add_contact_points, identify_citizen
from civicdesk.core.clock import now
from civicdesk.core.errors import DomainError
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

PHONE = "+447911123456"
EMAIL = "jo@mail.example"


class TextAdapter(ChannelAdapter):
    """A conversational SMS-like channel; records what it sends, sends as scripted."""

    kind = "testtext"
    label = "Test text"
    recipient_kinds = ("phone",)
    threads_by_sender = True
    # These tests follow replies; acknowledgements have tests of their own (test_notices).
    acknowledges_by_message = False
    script: ClassVar[list[DeliveryResult]] = []
    sent: ClassVar[list[OutgoingMessage]] = []

    def parse_inbound(self, payload: RawPayload) -> InboundMessage:
        data = json_object(payload)
        return InboundMessage(
            channel=self.kind,
            provider_message_id=str(data["id"]),
            body=str(data["text"]),
            sender=(SenderContact(kind="phone", value=str(data["from"])),),
            sender_name="Jo Citizen",
            recipient=str(data.get("to", "")),
        )

    def send(self, message: OutgoingMessage, config: Any) -> DeliveryResult:
        self.sent.append(message)
        return self.script.pop(0) if self.script else DeliveryResult.sent(f"t-{len(self.sent)}")


class LetterboxAdapter(TextAdapter):
    """A mail-like channel: replies to email addresses."""

    kind = "testbox"
    label = "Test mailbox"
    recipient_kinds = ("email",)
    threads_by_sender = False
    script: ClassVar[list[DeliveryResult]] = []
    sent: ClassVar[list[OutgoingMessage]] = []


@pytest.fixture
def channels() -> Iterator[None]:
    registry.set_fallback_handler(record_reply_fallback)
    with registry.override_adapters(TextAdapter, LetterboxAdapter):
        yield
    for adapter in (TextAdapter, LetterboxAdapter):
        adapter.script.clear()
        adapter.sent.clear()


@pytest.fixture
def commits(django_capture_on_commit_callbacks: Any) -> Any:
    """Run what a transaction leaves for after its commit (the delivery task)."""
    return django_capture_on_commit_callbacks


@pytest.fixture
def main_number(channels: None) -> ChannelAccount:
    return ChannelAccount.objects.create(kind="testtext", name="Main number")


@pytest.fixture
def second_number(channels: None) -> ChannelAccount:
    return ChannelAccount.objects.create(kind="testtext", name="Second number")


def _text(account: ChannelAccount, text: str = "My bin was not collected", **more: Any) -> Case:
    raw = RawPayload(
        body=json.dumps(
            {"id": uuid.uuid4().hex, "from": PHONE, "text": text, "to": "+441000", **more}
        ).encode()
    )
    acceptance = accept_inbound(
        channel="testtext", raw=raw, account=account, process_now=True, verified=True
    )
    assert acceptance.payload.error == ""
    return Case.objects.get(reference=acceptance.payload.result_reference)


def _client(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client


def test_inbound_records_the_account_and_identity_on_the_message_and_the_case(
    riverton: Any, main_number: ChannelAccount, second_number: ChannelAccount
) -> None:
    case = _text(main_number)
    assert (case.channel, case.channel_account, case.channel_identity) == (
        "testtext",
        main_number,
        PHONE,
    )
    first = CaseEvent.objects.get(case=case, kind="case.message.received")
    assert first.payload is not None
    assert (first.data["account_id"], first.data["identity"], first.payload.account) == (
        main_number.pk,
        PHONE,
        main_number,
    )

    # The citizen writes again, to the other number: the same case, which now replies there.
    assert _text(second_number, "Still not collected") == case
    case.refresh_from_db()
    assert (case.channel_account, case.channel_identity) == (second_number, PHONE)
    assert list(
        CaseEvent.objects.filter(case=case, kind="case.message.received").values_list(
            "data__account_id", flat=True
        )
    ) == [main_number.pk, second_number.pk]


def test_the_handler_says_whether_it_opened_or_joined_a_case(
    riverton: Any, main_number: ChannelAccount
) -> None:
    message = InboundMessage(
        channel="testtext",
        provider_message_id="m1",
        body="Hello",
        sender=(SenderContact(kind="phone", value=PHONE),),
    )
    opened = handle_inbound_message(message, account_id=main_number.pk)
    joined = handle_inbound_message(message, payload_id=None, account_id=main_number.pk)
    assert (opened.opened, opened.joined, joined.opened, joined.joined) == (
        True,
        False,
        False,
        True,
    )
    assert joined.case_reference == opened.case_reference


def test_a_reply_leaves_by_the_same_account_to_the_same_identity_with_its_files(
    riverton: Any, main_number: ChannelAccount, second_number: ChannelAccount, commits: Any
) -> None:
    case = _text(second_number)
    with commits(execute=True):
        outcome = reply_to_case(
            case=case,
            author=riverton.ann,
            body="We will collect it tomorrow.",
            attachments=[NewAttachment("route.pdf", "application/pdf", b"%PDF-1 map")],
        )
    delivery = OutboundDelivery.objects.get()
    assert (delivery.channel, delivery.account, delivery.recipient, delivery.status) == (
        "testtext",
        second_number,
        PHONE,
        DeliveryStatus.SENT,
    )
    assert outcome.entry.delivery == delivery
    assert outcome.entry.data["account_id"] == second_number.pk
    assert outcome.entry.data["recipient"] == PHONE
    [sent] = TextAdapter.sent
    assert (sent.recipient, sent.body, sent.attachments) == (
        PHONE,
        "We will collect it tomorrow.",
        (OutgoingAttachment("route.pdf", "application/pdf", b"%PDF-1 map"),),
    )


def test_the_agent_chooses_another_account_from_the_case_page(
    riverton: Any, main_number: ChannelAccount, second_number: ChannelAccount, commits: Any
) -> None:
    case = _text(main_number)
    client = _client(riverton.ann)
    page = client.get(f"/workspace/cases/{case.reference}/").content.decode()
    assert f'<option value="testtext:{main_number.pk}" selected>Test text to {PHONE}' in page
    assert "can't be reached" not in page

    with commits(execute=True):
        response = client.post(
            f"/workspace/cases/{case.reference}/reply/",
            {"body": "Replying from the other number.", "route": f"testtext:{second_number.pk}"},
        )
    assert response.status_code == 303
    delivery = OutboundDelivery.objects.get()
    assert (delivery.account, delivery.recipient) == (second_number, PHONE)


def test_a_route_the_citizen_cannot_be_reached_by_is_refused_and_nothing_is_written(
    riverton: Any, main_number: ChannelAccount
) -> None:
    case = _text(main_number)
    before = list(CaseEvent.objects.filter(case=case).values_list("id", flat=True))
    with pytest.raises(DomainError) as refused:
        reply_to_case(case=case, author=riverton.ann, body="Hello", channel="testbox")
    assert refused.value.message == (
        "Replies cannot reach this citizen by Test mailbox; choose one of the channels offered."
    )
    assert list(CaseEvent.objects.filter(case=case).values_list("id", flat=True)) == before
    assert OutboundDelivery.objects.count() == 0


def test_receipts_show_on_the_case_page_and_in_the_api(
    riverton: Any, main_number: ChannelAccount, commits: Any
) -> None:
    case = _text(main_number)
    with commits(execute=True):
        entry = reply_to_case(case=case, author=riverton.ann, body="On its way.").entry
    delivery = OutboundDelivery.objects.get()
    at = now().replace(microsecond=0) + timedelta(minutes=1)
    record_receipts(
        channel="testtext",
        account=delivery.account,
        receipts=[DeliveryReceipt(delivery.provider_message_id, ReceiptState.DELIVERED, at=at)],
    )
    delivery.refresh_from_db()
    page = _client(riverton.ann).get(f"/workspace/cases/{case.reference}/").content.decode()
    sent, delivered = localtime(delivery.sent_at), localtime(at)
    assert (
        f'<p class="delivery delivery--delivered" id="event-{entry.pk}-delivery">'
        f"Delivery: <strong>Delivered (sent {sent:%d %b %Y %H:%M}, "
        f"delivered {delivered:%d %b %Y %H:%M})</strong>"
    ) in page
    key = create_api_token(email=riverton.supervisor.email, name="crm").key
    detail = Client().get(
        f"/api/v1/cases/{case.reference}", headers={"Authorization": f"Bearer {key}"}
    )
    assert detail.status_code == 200
    replies = [e for e in detail.json()["events"] if e["kind"] == "case.reply.sent"]
    assert [e["delivery_status"] for e in replies] == ["delivered"]


def test_a_failed_reply_shows_its_error(
    riverton: Any, main_number: ChannelAccount, commits: Any
) -> None:
    TextAdapter.script.append(DeliveryResult.permanent_failure("number not in service"))
    case = _text(main_number)
    with commits(execute=True):
        entry = reply_to_case(case=case, author=riverton.ann, body="On its way.").entry
    page = _client(riverton.ann).get(f"/workspace/cases/{case.reference}/").content.decode()
    assert (
        f'<p class="delivery delivery--failed" id="event-{entry.pk}-delivery">'
        "Delivery: <strong>Failed — number not in service</strong>"
    ) in page
    # No other route: the chain is exhausted, and the case says so.
    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds[-1] == "case.reply.undeliverable"


def test_a_permanent_failure_moves_the_reply_to_the_next_channel_recorded_on_the_case(
    riverton: Any, main_number: ChannelAccount, commits: Any
) -> None:
    ChannelAccount.objects.create(kind="testbox", name="Town hall mailbox")
    case = _text(main_number)
    add_contact_points(citizen=case.citizen, contacts=[ContactInput(kind="email", value=EMAIL)])
    assert [r.channel for r in reply_routes(case)] == ["testtext", "testbox"]
    TextAdapter.script.append(DeliveryResult.permanent_failure("number not in service"))

    with commits(execute=True):
        reply_to_case(case=case, author=riverton.ann, body="On its way.")

    [by_mail] = LetterboxAdapter.sent
    assert (by_mail.recipient, by_mail.body) == (EMAIL, "On its way.")
    rerouted = CaseEvent.objects.get(case=case, kind="case.reply.rerouted")
    assert (rerouted.is_public, rerouted.data["from_channel"], rerouted.data["to_channel"]) == (
        False,
        "testtext",
        "testbox",
    )
    page = _client(riverton.ann).get(f"/workspace/cases/{case.reference}/").content.decode()
    assert "Reply moved from Test text to Test mailbox" in page


def _phoned_in(riverton: Any) -> Case:
    citizen = identify_citizen(
        contacts=[ContactInput(kind="phone", value=PHONE)], full_name="Jo Citizen"
    )
    return open_case(citizen=citizen, channel="phone", subject="Broken streetlight", service=None)


NOTICE = (
    "This citizen can&#x27;t be reached by reply: the case came by phone and we have no "
    "email address for them — phone them and record a note."
)


def test_a_citizen_nobody_can_reach_is_said_so_above_the_reply_box(riverton: Any) -> None:
    case = _phoned_in(riverton)
    page = _client(riverton.ann).get(f"/workspace/cases/{case.reference}/").content.decode()
    assert f'<p id="reply-unreachable">{NOTICE}</p>' in page
    assert 'id="reply-body"' not in page
    assert "Sent by" not in page


def test_a_reply_to_a_citizen_nobody_can_reach_is_refused_and_nothing_written(
    riverton: Any,
) -> None:
    case = _phoned_in(riverton)
    events = list(CaseEvent.objects.filter(case=case).values_list("id", "kind"))
    status = case.status
    with pytest.raises(Unreachable) as refused:
        reply_to_case(case=case, author=riverton.ann, body="We rang you.")
    assert refused.value.message == NOTICE.replace("&#x27;", "'")
    case.refresh_from_db()
    assert list(CaseEvent.objects.filter(case=case).values_list("id", "kind")) == events
    assert (case.status, case.first_responded_at, OutboundDelivery.objects.count()) == (
        status,
        None,
        0,
    )
