"""Workers take stored payloads in batches: leases, per-sender order, faults, exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from civicdesk.cases.events import MessageReceived
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.channels import ingest, registry
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.channels.services import (
    accept_inbound,
    process_payload,
    process_waiting,
    replay_payload,
)
from civicdesk.core.loops import WorkLoop, run_loop
from tests.factories import console_payload, portal_payload


@pytest.fixture
def loop_backend(settings: Any) -> None:
    """The database task backend: acknowledgements only store, the ingest loop processes."""
    settings.TASK_BACKEND = "database"


def stored(sender: str, text: str) -> InboundPayload:
    payload = accept_inbound(
        channel="console", raw=console_payload(**{"from": sender, "text": text})
    )
    assert payload.payload.status == PayloadStatus.RECEIVED
    return payload.payload


def claimed_elsewhere(payload: InboundPayload, *, seconds: float) -> None:
    """Another worker holds `payload`, its lease ending `seconds` from now (past if negative)."""
    InboundPayload.objects.filter(pk=payload.pk).update(
        status=PayloadStatus.PROCESSING,
        claimed_by="another-worker",
        lease_expires_at=timezone.now() + timedelta(seconds=seconds),
    )


def messages_of(case: Case) -> list[int | None]:
    """The payload ids of the case's citizen messages, in timeline order."""
    return list(
        CaseEvent.objects.filter(case=case, kind=MessageReceived.kind)
        .order_by("created_at", "id")
        .values_list("payload_id", flat=True)
    )


@pytest.mark.django_db
def test_acknowledging_only_stores_and_the_loop_processes_a_batch(
    riverton: Any, loop_backend: None
) -> None:
    first = stored("jo@mail.example", "The lamp outside number 4 is out")
    second = stored("jo@mail.example", "It is still out tonight")
    other = stored("al@mail.example", "A pothole on Mill Lane")
    assert Case.objects.count() == 0  # nothing was enqueued: the loop finds them

    assert process_waiting(limit=50) == 3
    assert process_waiting(limit=50) == 0
    payloads = InboundPayload.objects.filter(pk__in=[first.pk, second.pk, other.pk])
    assert {p.status for p in payloads} == {PayloadStatus.PROCESSED}
    assert {(p.claimed_by, p.lease_expires_at, p.attempts) for p in payloads} == {("", None, 1)}
    jo_case = Case.objects.get(reference=InboundPayload.objects.get(pk=first.pk).result_reference)
    assert messages_of(jo_case) == [first.pk, second.pk]  # threaded, in arrival order
    assert Case.objects.count() == 2


@pytest.mark.django_db
def test_the_ingest_loop_takes_batches_of_the_configured_size(
    riverton: Any, loop_backend: None, settings: Any
) -> None:
    from civicdesk.channels.jobs import ingest_waiting_payloads

    settings.CIVICDESK_INGEST_BATCH_SIZE = 3
    for n in range(5):
        stored(f"sender{n}@mail.example", f"Contact {n}")
    assert [ingest_waiting_payloads() for _ in range(3)] == [3, 2, 0]


@pytest.mark.django_db
def test_a_sender_waits_while_an_earlier_message_is_being_processed(
    riverton: Any, loop_backend: None
) -> None:
    early = stored("jo@mail.example", "First")
    late = stored("jo@mail.example", "Second")
    someone_else = stored("al@mail.example", "Other")
    claimed_elsewhere(early, seconds=20)

    assert process_waiting(limit=50) == 1  # only the other sender's
    late.refresh_from_db()
    someone_else.refresh_from_db()
    assert late.status == PayloadStatus.RECEIVED
    assert someone_else.status == PayloadStatus.PROCESSED

    # The other worker died: once its lease ran out, the claim is taken over, order kept.
    claimed_elsewhere(early, seconds=-1)
    assert process_waiting(limit=50) == 2
    early.refresh_from_db()
    assert early.status == PayloadStatus.PROCESSED
    assert early.attempts == 1  # counted by the claims: the dead worker's was set by hand here
    assert messages_of(Case.objects.get(reference=early.result_reference)) == [early.pk, late.pk]


@pytest.mark.django_db
def test_a_limit_takes_the_oldest_and_keeps_each_senders_order(
    riverton: Any, loop_backend: None
) -> None:
    payloads = [stored(f"s{n % 2}@mail.example", f"message {n}") for n in range(5)]
    assert process_waiting(limit=2) == 2
    statuses = [InboundPayload.objects.get(pk=p.pk).status for p in payloads]
    assert statuses == [PayloadStatus.PROCESSED] * 2 + [PayloadStatus.RECEIVED] * 3
    assert process_waiting(limit=50) == 3


@pytest.mark.django_db
def test_a_bad_payload_fails_alone_and_stays_replayable(riverton: Any, loop_backend: None) -> None:
    good = accept_inbound(channel="portal", raw=portal_payload(), reserve_reference=True).payload
    bad = accept_inbound(
        channel="portal", raw=portal_payload(service_code="no-such-service"), reserve_reference=True
    ).payload
    later = accept_inbound(channel="portal", raw=portal_payload(), reserve_reference=True).payload

    assert process_waiting() == 3
    good.refresh_from_db()
    bad.refresh_from_db()
    later.refresh_from_db()
    assert (good.status, later.status) == (PayloadStatus.PROCESSED, PayloadStatus.PROCESSED)
    assert bad.status == PayloadStatus.FAILED
    assert bad.error.startswith("Unknown service 'no-such-service'.")
    assert Case.objects.filter(reference__in=[good.reference, later.reference]).count() == 2
    assert not Case.objects.filter(reference=bad.reference).exists()

    riverton.missed_bin.code = "no-such-service"  # an administrator adds the service
    riverton.missed_bin.save()
    assert replay_payload(payload_id=bad.pk).status == PayloadStatus.PROCESSED
    assert Case.objects.filter(reference=bad.reference).exists()


def flaky_handler(fail_on: set[int], calls: list[int]) -> Callable[..., Any]:
    """The registered inbound handler, except that it meets a locked database for `fail_on`."""
    real = registry.inbound_handler()

    def handler(message: Any, **keywords: Any) -> Any:
        calls.append(keywords["payload_id"])
        if keywords["payload_id"] in fail_on:
            raise OperationalError("database is locked")
        return real(message, **keywords)

    return handler


@pytest.mark.django_db
def test_a_temporary_fault_puts_the_batch_back_never_failed(
    riverton: Any, loop_backend: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    payloads = [stored(f"s{n}@mail.example", f"message {n}") for n in range(3)]
    calls: list[int] = []
    monkeypatch.setattr(
        registry, "_inbound_handler", flaky_handler({payloads[1].pk}, calls), raising=True
    )

    with pytest.raises(OperationalError):
        process_waiting()

    assert Case.objects.count() == 0  # the batch rolled back as one
    rows = InboundPayload.objects.filter(pk__in=[p.pk for p in payloads])
    assert {r.status for r in rows} == {PayloadStatus.RECEIVED}
    assert {r.attempts for r in rows} == {1}
    assert all(r.not_before and r.not_before > r.updated_at for r in rows)  # a backoff
    assert all("Temporary fault" in r.error and r.claimed_by == "" for r in rows)
    InboundPayload.objects.update(not_before=timezone.now() + timedelta(minutes=1))
    assert process_waiting() == 0  # nothing is tried again before its backoff has passed

    InboundPayload.objects.update(not_before=timezone.now() - timedelta(seconds=1))
    monkeypatch.undo()  # the database is writable again
    assert process_waiting() == 3
    rows = InboundPayload.objects.filter(pk__in=[p.pk for p in payloads])
    assert {(r.status, r.attempts, r.error) for r in rows} == {(PayloadStatus.PROCESSED, 2, "")}


@pytest.mark.django_db
def test_a_temporary_fault_on_the_one_payload_path_is_not_a_failure(
    riverton: Any, loop_backend: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = stored("jo@mail.example", "Lamp out")
    monkeypatch.setattr(registry, "_inbound_handler", flaky_handler({payload.pk}, []))

    processing = process_payload(payload_id=payload.pk)

    assert processing.payload.status == PayloadStatus.RECEIVED
    assert processing.payload.not_before is not None
    assert processing.payload.claimed_by == ""
    assert "Temporary fault" in processing.payload.error


@pytest.mark.django_db
def test_a_payload_processed_twice_makes_one_case_and_one_event(
    riverton: Any, loop_backend: None
) -> None:
    payload = accept_inbound(channel="portal", raw=portal_payload(), reserve_reference=True).payload
    assert process_waiting() == 1
    case = Case.objects.get(reference=payload.reference)
    events = CaseEvent.objects.filter(case=case).count()

    # As if a worker had died after committing and its claim were taken over anyway.
    claimed_elsewhere(payload, seconds=-1)
    assert process_waiting() == 1
    payload.refresh_from_db()
    assert payload.status == PayloadStatus.PROCESSED
    assert payload.result_reference == payload.reference
    assert Case.objects.count() == 1
    assert CaseEvent.objects.filter(case=case).count() == events


@pytest.mark.django_db
def test_a_worker_that_stalled_past_its_lease_finds_its_batch_taken_over(
    riverton: Any, loop_backend: None
) -> None:
    payload = stored("jo@mail.example", "Lamp out")
    ids = ingest.claim_waiting(limit=10, holder="slow-worker")
    assert ids == [payload.pk]
    InboundPayload.objects.filter(pk=payload.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert process_waiting() == 1  # taken over

    assert ingest._process_claimed(ids, holder="slow-worker") == 0  # the slow one does nothing
    payload.refresh_from_db()
    assert payload.status == PayloadStatus.PROCESSED
    assert payload.attempts == 2
    assert CaseEvent.objects.filter(kind=MessageReceived.kind).count() == 1


def test_a_work_loop_outlives_its_faults_and_stops_when_told() -> None:
    stop = threading.Event()
    steps: list[str] = []

    def step() -> int:
        steps.append("step")
        if len(steps) == 1:
            raise OperationalError("database is locked")
        if len(steps) == 2:
            raise RuntimeError("a bug")
        if len(steps) == 4:
            stop.set()
        return 1

    thread = threading.Thread(target=run_loop, args=(WorkLoop("test", step, 0.01), stop))
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert len(steps) == 4


# --- concurrency, with real connections (threads) ---------------------------------------------


def in_thread(work: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        try:
            return work()
        finally:
            connection.close()  # each thread has its own connection

    return run


@pytest.mark.django_db(transaction=True)
def test_two_workers_process_every_payload_once_in_order_per_sender(
    riverton: Any, loop_backend: None
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("concurrent claims are PostgreSQL's (SQLite has one writer)")
    senders = [f"sender{n}@mail.example" for n in range(20)]
    payloads = [stored(senders[n % 20], f"message {n}") for n in range(200)]
    errors: list[BaseException] = []
    done = [0, 0]

    def worker(index: int) -> None:
        idle = 0
        while idle < 3:
            try:
                count = process_waiting(limit=7)
            except BaseException as exc:  # recorded for the assertion below
                errors.append(exc)
                return
            done[index] += count
            idle = 0 if count else idle + 1

    threads = [
        threading.Thread(target=in_thread(lambda i=i: worker(i)))  # type: ignore[misc]
        for i in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sum(done) == 200
    assert all(count > 0 for count in done)  # both workers took a share
    rows = InboundPayload.objects.filter(pk__in=[p.pk for p in payloads])
    assert {(r.status, r.attempts) for r in rows} == {(PayloadStatus.PROCESSED, 1)}
    assert CaseEvent.objects.filter(kind=MessageReceived.kind).count() == 200
    assert Case.objects.count() == 20
    for sender in senders:
        ids = sorted(p.pk for p in payloads if p.sender_identity == f"email:{sender}")
        case = Case.objects.get(reference=InboundPayload.objects.get(pk=ids[0]).result_reference)
        assert messages_of(case) == ids


@pytest.mark.django_db
def test_a_throttled_message_holds_its_senders_later_ones_back_until_released(
    riverton: Any, loop_backend: None
) -> None:
    from civicdesk.channels.services import sweep

    early = stored("jo@mail.example", "First")
    # Over the sender's limit when it came; its window has passed, the sweep has not run yet.
    InboundPayload.objects.filter(pk=early.pk).update(
        status=PayloadStatus.THROTTLED, held_until=timezone.now() - timedelta(seconds=1)
    )
    late = stored("jo@mail.example", "Second")
    someone_else = stored("al@mail.example", "Other")

    assert process_waiting(limit=50) == 1  # only the other sender's
    late.refresh_from_db()
    assert late.status == PayloadStatus.RECEIVED
    someone_else.refresh_from_db()
    assert someone_else.status == PayloadStatus.PROCESSED

    sweep()  # releases the throttled one: processed first, in arrival order
    assert process_waiting(limit=50) == 2
    early.refresh_from_db()
    assert early.status == PayloadStatus.PROCESSED
    assert messages_of(Case.objects.get(reference=early.result_reference)) == [early.pk, late.pk]


@pytest.mark.django_db
def test_a_page_of_held_back_messages_does_not_stop_the_others_being_claimed(
    riverton: Any, loop_backend: None
) -> None:
    from civicdesk.channels.ingest import claim_waiting

    early = stored("jo@mail.example", "First")
    InboundPayload.objects.filter(pk=early.pk).update(status=PayloadStatus.THROTTLED)
    held = [stored("jo@mail.example", f"Later {n}") for n in range(7)]  # more than a page
    someone_else = stored("al@mail.example", "Other")

    claimed = claim_waiting(limit=3, holder="test")

    assert claimed == [someone_else.pk]  # the third page had it
    assert not InboundPayload.objects.filter(
        pk__in=[p.pk for p in held], status=PayloadStatus.PROCESSING
    ).exists()


def _reference_taken_by_another_case() -> tuple[InboundPayload, Case]:
    """A payload whose reserved reference another contact's case already has (numbered twice:
    an old process still counting on the counter row during a deploy, a counter reset)."""
    first = accept_inbound(channel="portal", raw=portal_payload(), reserve_reference=True).payload
    assert process_waiting() == 1
    other_case = Case.objects.get(reference=first.reference)
    payload = accept_inbound(
        channel="portal",
        raw=portal_payload(email="al@mail.example", description="A pothole on Mill Lane"),
        reserve_reference=True,
    ).payload
    InboundPayload.objects.filter(pk=payload.pk).update(reference=first.reference)
    return payload, other_case


def _assert_opened_its_own_case(payload: InboundPayload, other_case: Case) -> None:
    payload.refresh_from_db()
    assert payload.status == PayloadStatus.PROCESSED
    assert payload.result_reference != other_case.reference  # not someone else's case
    case = Case.objects.get(reference=payload.result_reference)
    assert messages_of(case) == [payload.pk]  # what the citizen wrote is on a case
    assert case.citizen_id != other_case.citizen_id
    assert not CaseEvent.objects.filter(case=other_case, payload_id=payload.pk).exists()


@pytest.mark.django_db
def test_a_reference_another_case_took_opens_a_case_of_its_own_in_a_batch(
    riverton: Any, loop_backend: None
) -> None:
    payload, other_case = _reference_taken_by_another_case()
    assert process_waiting() == 1
    _assert_opened_its_own_case(payload, other_case)


@pytest.mark.django_db
def test_a_reference_another_case_took_opens_a_case_of_its_own_one_by_one(
    riverton: Any, loop_backend: None
) -> None:
    payload, other_case = _reference_taken_by_another_case()
    process_payload(payload_id=payload.pk)
    _assert_opened_its_own_case(payload, other_case)


@pytest.mark.django_db
def test_a_nul_in_a_senders_address_or_id_is_stored_and_fails_visibly(
    riverton: Any, loop_backend: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL cannot store NUL in text: a channel delivering one used to get a 500, the
    # payload never stored, and its provider retrying for ever.
    monkeypatch.setattr(type(registry.adapter_for("console")), "rate_limited", True)
    raw = console_payload(**{"from": "jo\x00@mail.example", "id": "m\x001", "text": "Lamp out"})
    acceptance = accept_inbound(channel="console", raw=raw)
    assert acceptance.payload.pk is not None
    assert accept_inbound(channel="console", raw=raw).is_duplicate  # the same id, once
    process_waiting()
    acceptance.payload.refresh_from_db()
    assert acceptance.payload.status in (PayloadStatus.PROCESSED, PayloadStatus.FAILED)


@pytest.mark.django_db
def test_a_failure_whose_reason_holds_a_nul_is_recorded_not_retried_for_ever(
    riverton: Any, loop_backend: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from civicdesk.core.errors import DomainError

    bad = stored("jo@mail.example", "First")
    good = stored("al@mail.example", "Second")

    def handler(message: Any, **keywords: Any) -> Any:
        raise DomainError("No case RIV-2026-\x00.")  # a reason quoting what was sent

    monkeypatch.setattr(registry, "_inbound_handler", handler)
    monkeypatch.setattr(registry, "_batch_handler", None)
    assert process_waiting() == 2
    bad.refresh_from_db()
    good.refresh_from_db()
    assert (bad.status, good.status) == (PayloadStatus.FAILED, PayloadStatus.FAILED)
    assert bad.error.startswith("No case RIV-2026-")


@pytest.mark.django_db
def test_a_batch_that_fails_outside_its_payloads_goes_one_by_one_instead_of_for_ever(
    riverton: Any, loop_backend: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    payloads = [stored(f"s{n}@mail.example", f"message {n}") for n in range(3)]

    def broken(batch: list[InboundPayload]) -> None:
        raise RuntimeError("a bug in writing the batch's statuses")

    monkeypatch.setattr(ingest, "_record_outcomes", broken)
    # Not claimed for ever (taken again after each lease, ahead of everything behind it):
    # each payload is processed alone, its outcome recorded.
    assert process_waiting() == 3
    rows = InboundPayload.objects.filter(pk__in=[p.pk for p in payloads])
    assert {(r.status, r.claimed_by) for r in rows} == {(PayloadStatus.PROCESSED, "")}
    assert Case.objects.count() == 3


class _DiskFull(Exception):
    sqlstate = "53100"  # PostgreSQL's disk_full


@pytest.mark.django_db
def test_a_temporary_fault_that_lasts_is_logged_as_an_error_and_still_retried(
    riverton: Any, loop_backend: None, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    payload = stored("jo@mail.example", "Lamp out")

    def handler(message: Any, **keywords: Any) -> Any:
        raise OperationalError("could not extend file: No space left on device") from _DiskFull()

    monkeypatch.setattr(registry, "_inbound_handler", handler)
    monkeypatch.setattr(registry, "_batch_handler", None)
    with pytest.raises(OperationalError):
        process_waiting()
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # once: it may pass

    InboundPayload.objects.filter(pk=payload.pk).update(
        attempts=ingest.LOUD_AFTER_ATTEMPTS, not_before=None
    )
    with pytest.raises(OperationalError):
        process_waiting()
    payload.refresh_from_db()
    assert payload.status == PayloadStatus.RECEIVED  # still retried, never failed
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("No space left on device" in text for text in errors)


@pytest.mark.django_db(transaction=True)
def test_a_batch_still_at_work_past_its_lease_holds_its_senders_later_messages_back(
    riverton: Any, loop_backend: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The lease is renewed inside the batch's transaction, so other workers see it expire
    # while the batch still holds its rows: they must not take the sender's next message.
    if connection.vendor != "postgresql":
        pytest.skip("concurrent claims are PostgreSQL's (SQLite has one writer)")
    monkeypatch.setattr(ingest, "LEASE", timedelta(seconds=0.5))
    monkeypatch.setattr(registry, "_batch_handler", None)
    first = stored("jo@mail.example", "First")
    real = registry.inbound_handler()
    inside, release = threading.Event(), threading.Event()

    def slow(message: Any, **keywords: Any) -> Any:
        inside.set()
        release.wait(10)
        return real(message, **keywords)

    monkeypatch.setattr(registry, "_inbound_handler", slow)
    slow_worker = threading.Thread(target=in_thread(lambda: process_waiting(limit=10)))
    slow_worker.start()
    try:
        assert inside.wait(10)
        monkeypatch.setattr(registry, "_inbound_handler", real)
        second = stored("jo@mail.example", "Second")
        time.sleep(1)  # the slow batch's lease has run out; it is still at work
        assert process_waiting(limit=10) == 0
        second.refresh_from_db()
        assert second.status == PayloadStatus.RECEIVED
    finally:
        release.set()
        slow_worker.join(20)
    assert process_waiting(limit=10) == 1
    first.refresh_from_db()
    assert messages_of(Case.objects.get(reference=first.result_reference)) == [first.pk, second.pk]
