"""Acknowledgements in the worker's batch path and on replays, notifications of status changes
and of replies waiting on the portal, and the signed links they carry."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import pytest
from django.test import Client

from civicdesk.cases.models import Case
from civicdesk.cases.services import change_case_status, issue_status_token, reply_to_case
from civicdesk.cases.services.acknowledgement import acknowledge
from civicdesk.cases.services.timeline import announce
from civicdesk.channels import registry
from civicdesk.channels.contracts import RawPayload
from civicdesk.channels.models import ChannelAccount, OutboundDelivery
from civicdesk.channels.services import (
    accept_inbound,
    ensure_account,
    process_payload,
    process_waiting,
    replay_payload,
)
from civicdesk.citizens.models import Citizen, ContactPoint
from tests.factories import portal_payload

pytestmark = pytest.mark.django_db

HELP = "help@riverton.example"
PUBLIC = "https://portal.riverton.example"
LINK = re.compile(re.escape(PUBLIC) + r"(/requests/\S+/)")


@pytest.fixture
def account(riverton: Any, settings: Any) -> ChannelAccount:
    settings.CIVICDESK_PUBLIC_URL = PUBLIC
    return ensure_account(kind="email", name="Help desk", values={"address": HELP})


def email_raw(sender: str, body: str, *, message_id: str, **headers: str) -> RawPayload:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = HELP
    message["Subject"] = headers.pop("Subject", "Streetlight out")
    message["Message-ID"] = f"<{message_id}>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    envelope = {"x-civicdesk-envelope-to": HELP, "x-civicdesk-envelope-from": sender}
    return RawPayload(body=bytes(message), content_type="message/rfc822", headers=envelope)


def email_case(account: ChannelAccount, sender: str = "jo@mail.example") -> Case:
    raw = email_raw(sender, "The light on Elm Avenue is out.", message_id=f"first@{sender}")
    acceptance = accept_inbound(channel="email", raw=raw, account=account, process_now=True)
    return Case.objects.get(reference=acceptance.payload.result_reference)


def automatic() -> list[OutboundDelivery]:
    return list(OutboundDelivery.objects.filter(is_automatic=True).order_by("id"))


def link_in(delivery: OutboundDelivery) -> str:
    found = LINK.search(delivery.body)
    assert found is not None, delivery.body
    return found.group(1)


def test_the_batch_path_acknowledges_each_new_case_once_and_never_an_auto_reply(
    account: ChannelAccount, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.TASK_BACKEND = "database"
    handled: list[int] = []
    batch = registry.batch_handler()
    assert batch is not None

    def spied(items: list[Any]) -> Any:
        outcomes = batch(items)
        handled.extend(outcomes)
        return outcomes

    monkeypatch.setattr(registry, "_batch_handler", spied)
    senders = ["a@mail.example", "b@mail.example", "c@mail.example"]
    ids = [
        accept_inbound(
            channel="email", raw=email_raw(s, "Bin missed.", message_id=f"m@{s}"), account=account
        ).payload.pk
        for s in senders
    ]
    away = email_raw("d@mail.example", "Away.", message_id="ooo@d", Auto_Submitted="auto-replied")
    ids.append(accept_inbound(channel="email", raw=away, account=account).payload.pk)
    while process_waiting(limit=50):
        pass
    assert sorted(handled) == sorted(ids)  # all four went through the batch handler
    assert Case.objects.count() == 4
    acks = automatic()
    assert [d.recipient for d in acks] == senders
    for delivery in acks:
        case = Case.objects.get(reference=delivery.thread_reference)
        assert case.reference in delivery.subject
        page = Client().get(link_in(delivery))
        assert page.status_code == 200
        assert case.reference in page.content.decode()
    # Processed again (a takeover, a second task): answered as it stands, nothing more sent.
    for payload_id in ids:
        process_payload(payload_id=payload_id)
    assert len(automatic()) == 3


def test_a_batch_that_fails_after_acknowledging_leaves_one_acknowledgement_per_case(
    account: ChannelAccount, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's acknowledgements roll back with it; one by one, each case gets its own."""
    settings.TASK_BACKEND = "database"
    real = announce
    calls = {"n": 0}

    def fails_once(event: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the batch breaks after queueing its acknowledgements")
        real(event)

    monkeypatch.setattr("civicdesk.cases.intake_batch.announce", fails_once)
    for sender in ["a@mail.example", "b@mail.example"]:
        raw = email_raw(sender, "Bin missed.", message_id=f"m@{sender}")
        accept_inbound(channel="email", raw=raw, account=account)
    while process_waiting(limit=50):
        pass
    assert calls["n"] >= 1
    assert Case.objects.count() == 2
    assert sorted(d.recipient for d in automatic()) == ["a@mail.example", "b@mail.example"]


def test_a_failed_payload_replayed_is_acknowledged_once(
    account: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = acknowledge

    def then_fails(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise RuntimeError("a fault after the acknowledgement was queued")

    monkeypatch.setattr("civicdesk.cases.intake.acknowledge", then_fails)
    raw = email_raw("jo@mail.example", "Bin missed.", message_id="m@jo")
    payload = accept_inbound(channel="email", raw=raw, account=account, process_now=True).payload
    assert payload.status == "failed"
    assert (Case.objects.count(), automatic()) == (0, [])
    monkeypatch.setattr("civicdesk.cases.intake.acknowledge", real)
    assert replay_payload(payload_id=payload.pk).status == "processed"
    assert [d.recipient for d in automatic()] == ["jo@mail.example"]


def test_mail_from_another_of_our_accounts_is_never_acknowledged(account: ChannelAccount) -> None:
    info = ensure_account(kind="email", name="Info", values={"address": "info@riverton.example"})
    raw = email_raw(HELP, "Forwarded to the right desk.", message_id="fw@riverton.example")
    raw = RawPayload(
        body=raw.body.replace(b"To: help@", b"To: info@"),
        content_type=raw.content_type,
        headers={**raw.headers, "x-civicdesk-envelope-to": "info@riverton.example"},
    )
    payload = accept_inbound(channel="email", raw=raw, account=info, process_now=True).payload
    assert payload.status == "processed"
    assert automatic() == []


def test_a_message_joining_a_case_is_not_acknowledged(account: ChannelAccount) -> None:
    case = email_case(account)
    raw = email_raw("jo@mail.example", f"Any news on {case.reference}?", message_id="m2@jo",
                    Subject=f"Re: [{case.reference}] Streetlight out")  # fmt: skip
    accept_inbound(channel="email", raw=raw, account=account, process_now=True)
    assert case.events.filter(body__startswith="Any news").exists()
    assert len(automatic()) == 1


def test_each_status_change_notifies_by_email_with_a_working_link(
    account: ChannelAccount, riverton: Any
) -> None:
    case = email_case(account)
    moves = [
        ("open", "In progress", "We are working on it."),
        ("waiting", "Waiting for your reply", "We need something from you"),
        ("resolved", "Resolved", "We believe it is resolved."),
        ("closed", "Closed", "The request is closed."),
        ("reopened", "Reopened", "We are looking at it again."),
    ]
    for status, label, words in moves:
        change_case_status(case=case, status=status, by=riverton.ann)
        notice = automatic()[-1]
        assert (notice.recipient, notice.thread_reference) == ("jo@mail.example", case.reference)
        assert notice.subject == f"Your request {case.reference}: {label}"
        assert f"is now: {label}." in notice.body
        assert words in notice.body
        page = Client().get(link_in(notice))
        assert page.status_code == 200
        assert label in page.content.decode()
    assert len(automatic()) == 1 + len(moves)


def test_a_status_notice_is_in_the_citizens_language(
    account: ChannelAccount, riverton: Any
) -> None:
    citizen = Citizen.objects.create(full_name="Ana Pop", preferred_language="ro")
    ContactPoint.objects.create(citizen=citizen, kind="email", value="ana@mail.example")
    case = email_case(account, sender="ana@mail.example")
    change_case_status(case=case, status="resolved", by=riverton.ann)
    notice = automatic()[-1]
    assert notice.subject == f"Solicitarea dumneavoastră {case.reference}: Rezolvată"
    assert "Credem că a fost rezolvată." in notice.body


def test_a_signed_link_stops_working_when_the_link_is_issued_again(
    account: ChannelAccount, riverton: Any
) -> None:
    case = email_case(account)
    acknowledged = link_in(automatic()[0])
    change_case_status(case=case, status="open", by=riverton.ann)
    signed = link_in(automatic()[-1])
    assert signed != acknowledged
    assert Client().get(signed).status_code == 200
    assert Client().get(acknowledged).status_code == 200  # the first link still works too
    token = issue_status_token(case=case)
    assert Client().get(signed).status_code == 404
    assert Client().get(acknowledged).status_code == 404
    assert Client().get(f"/requests/{token}/").status_code == 200
    # A forged or altered signature opens nothing.
    assert (
        Client().get(signed.replace(signed[-4], "A" if signed[-4] != "A" else "B")).status_code
        == 404
    )
    other = f"/requests/{case.pk + 1}.{case.status_token_digest[:16]}:forged/"
    assert Client().get(other).status_code == 404


def test_the_citizen_can_reply_through_a_signed_link(
    account: ChannelAccount, riverton: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = email_case(account)
    change_case_status(case=case, status="waiting", by=riverton.ann)
    signed = link_in(automatic()[-1])
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            f"{signed}reply", {"body": "It is the lamp by number 3.", "submission_id": "a" * 32}
        )
    assert response.status_code == 303
    assert case.events.filter(body="It is the lamp by number 3.").exists()
    case.refresh_from_db()
    assert case.status == "open"


def test_an_agents_email_reply_is_not_notified_twice(
    account: ChannelAccount, riverton: Any
) -> None:
    case = email_case(account)
    reply_to_case(case=case, author=riverton.ann, body="We will fix it on Friday.")
    assert OutboundDelivery.objects.filter(is_automatic=False).count() == 1
    assert len(automatic()) == 1  # the acknowledgement only


def test_a_reply_on_the_portal_is_announced_by_email_and_portal_moves_are_not(
    account: ChannelAccount, riverton: Any
) -> None:
    acceptance = accept_inbound(channel="portal", raw=portal_payload(), process_now=True)
    case = Case.objects.get(reference=acceptance.payload.result_reference)
    change_case_status(case=case, status="open", by=riverton.ann)
    assert automatic() == []  # the citizen's channel is the portal: its page says it
    outcome = reply_to_case(case=case, author=riverton.ann, body="Collected this afternoon.")
    assert outcome.channel == "portal"
    [notice] = automatic()
    assert (notice.channel, notice.recipient) == ("email", "jo@mail.example")
    assert notice.subject == f"A reply to your request {case.reference}"
    page = Client().get(link_in(notice))
    assert page.status_code == 200
    assert "Collected this afternoon." in page.content.decode()
