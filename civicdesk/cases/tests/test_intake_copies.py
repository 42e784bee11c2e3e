"""The same mail reaching two of our accounts is one contact: one case, one acknowledgement."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from civicdesk.cases.events import MessageReceived
from civicdesk.cases.models import Case, CaseEvent, CaseParticipant
from civicdesk.channels.contracts import RawPayload
from civicdesk.channels.models import ChannelAccount, InboundPayload, OutboundDelivery
from civicdesk.channels.services import (
    accept_inbound,
    ensure_account,
    process_payload,
    process_waiting,
)

HELP = "help@riverton.example"
INFO = "info@riverton.example"


def _mail(to: str, *, body: str = "The lamp on Elm Avenue is out.") -> RawPayload:
    """One mail to both of our addresses, as the server of `to` hands it over."""
    raw = (
        "From: Ann Lee <ann.lee@example.org>\r\n"
        f"To: {HELP}\r\nCc: {INFO}\r\n"
        "Subject: Lamp out\r\nDate: Fri, 04 Dec 2026 09:00:00 +0000\r\n"
        f"Message-ID: <lamp-copy@example.org>\r\n\r\n{body}\r\n"
    ).encode()
    envelope = {"x-civicdesk-envelope-to": to}
    return RawPayload(body=raw, content_type="message/rfc822", headers=envelope)


def _no_cc(to: str) -> RawPayload:
    """The same, Bcc'd to the other address (no copied participants: the batch may take it)."""
    raw = _mail(to).body.replace(f"Cc: {INFO}\r\n".encode(), b"")
    return RawPayload(body=raw, content_type="message/rfc822", headers=_mail(to).headers)


def _accounts() -> tuple[ChannelAccount, ChannelAccount]:
    return (
        ensure_account(kind="email", name="Help desk", values={"address": HELP}),
        ensure_account(kind="email", name="Info", values={"address": INFO}),
    )


def _store(raw: RawPayload, account: ChannelAccount) -> int:
    return accept_inbound(channel="email", raw=raw, account=account, verified=True).payload.pk


def _drain() -> None:
    while process_waiting(limit=50):
        pass


def _one_contact(first: int, second: int) -> None:
    """Exactly one case, one entry, one acknowledgement; both payloads processed into it."""
    case = Case.objects.get()
    payloads = InboundPayload.objects.filter(pk__in=[first, second])
    assert sorted(payloads.values_list("status", "result_reference")) == [
        ("processed", case.reference),
        ("processed", case.reference),
    ]
    entries = CaseEvent.objects.filter(case=case, kind=MessageReceived.kind)
    assert list(entries.values_list("payload_id", flat=True)) == [first]
    assert OutboundDelivery.objects.filter(is_automatic=True).count() == 1
    # Our other address, copied, is us: replies are not copied to it.
    assert not CaseParticipant.objects.filter(case=case).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("build", [_mail, _no_cc], ids=["copied", "blind-copied"])
def test_both_copies_in_one_batch_make_one_case(riverton: Any, settings: Any, build: Any) -> None:
    settings.TASK_BACKEND = "database"
    help_desk, info = _accounts()
    first = _store(build(HELP), help_desk)
    second = _store(build(INFO), info)
    _drain()
    _one_contact(first, second)


@pytest.mark.django_db
@pytest.mark.parametrize("build", [_mail, _no_cc], ids=["copied", "blind-copied"])
def test_a_copy_arriving_after_the_case_opened_is_answered_with_it(
    riverton: Any, settings: Any, build: Any
) -> None:
    settings.TASK_BACKEND = "database"
    help_desk, info = _accounts()
    first = _store(build(HELP), help_desk)
    _drain()
    second = _store(build(INFO), info)
    _drain()
    _one_contact(first, second)


@pytest.mark.django_db
def test_another_mail_reusing_the_message_id_is_another_contact(
    riverton: Any, settings: Any
) -> None:
    """Provider ids carry a digest of what the sender wrote: a reused Message-ID is not a copy."""
    settings.TASK_BACKEND = "database"
    help_desk, info = _accounts()
    _store(_no_cc(HELP), help_desk)
    other = _no_cc(INFO)
    _store(RawPayload(other.body.replace(b"is out", b"flickers"), other.content_type,
                      other.headers), info)  # fmt: skip
    _drain()
    assert Case.objects.count() == 2
    assert OutboundDelivery.objects.filter(is_automatic=True).count() == 2


@pytest.mark.django_db
def test_a_copy_whose_first_failed_opens_the_case_and_the_first_replayed_joins_nothing_twice(
    riverton: Any, settings: Any
) -> None:
    """Only a copy that became case work answers for the others."""
    from civicdesk.channels.services import replay_payload

    settings.TASK_BACKEND = "database"
    help_desk, info = _accounts()
    first = _store(_no_cc(HELP), help_desk)
    InboundPayload.objects.filter(pk=first).update(status="failed", error="a fault since fixed")
    second = _store(_no_cc(INFO), info)
    _drain()
    case = Case.objects.get()
    replay_payload(payload_id=first)
    assert Case.objects.get() == case
    entries = CaseEvent.objects.filter(case=case, kind=MessageReceived.kind)
    assert list(entries.values_list("payload_id", flat=True)) == [second]
    assert InboundPayload.objects.get(pk=first).result_reference == case.reference
    assert OutboundDelivery.objects.filter(is_automatic=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_copies_processed_at_once_make_one_case(riverton: Any, settings: Any) -> None:
    """Two workers, one copy each: the second waits for the first to commit (PostgreSQL: the
    message's advisory lock; SQLite: its single writer), then answers with its case."""
    settings.TASK_BACKEND = "database"
    help_desk, info = _accounts()
    first = _store(_no_cc(HELP), help_desk)
    second = _store(_no_cc(INFO), info)
    first_done = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def slow_worker() -> None:
        try:
            # The first copy's processing, its transaction kept open until released.
            with transaction.atomic():
                process_payload(payload_id=first)
                first_done.set()
                assert release.wait(10)
        except BaseException as exc:
            errors.append(exc)
            first_done.set()
        finally:
            connection.close()

    def other_worker() -> None:
        try:
            process_payload(payload_id=second)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    slow = threading.Thread(target=slow_worker)
    slow.start()
    assert first_done.wait(10)
    other = threading.Thread(target=other_worker)
    other.start()
    other.join(1.0)
    waited = other.is_alive()
    release.set()
    slow.join(10)
    other.join(10)
    assert not errors, errors
    assert waited  # it did not decide before the first copy's case was committed
    _one_contact(first, second)


@pytest.mark.django_db
def test_ids_a_provider_numbers_per_account_are_never_taken_for_copies() -> None:
    """Message 42 of one bot is not message 42 of another: only adapters that say their ids
    name the message (email) have copies."""
    from civicdesk.channels import registry
    from civicdesk.channels.selectors import same_message_payloads

    assert "sms_acme" in registry.adapters()  # the tests' channel, numbering ids per account
    ids = []
    for n, kind in enumerate(["sms_acme", "sms_acme", "email", "email"]):
        account = ChannelAccount.objects.create(kind=kind, name=f"Account {n}")
        payload = InboundPayload.objects.create(
            channel=kind, account=account, provider_message_id="42", body=b"{}"
        )
        ids.append(payload.pk)
    assert same_message_payloads(payload_ids=ids) == {ids[2]: [ids[3]], ids[3]: [ids[2]]}
