import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from civicdesk.channels.contracts import RawPayload
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.channels.services import accept_inbound
from tests.factories import portal_payload


def _failed_api_contact() -> InboundPayload:
    body = {
        "external_id": "crm-7",
        "citizen": {"email": "jo@mail.example"},
        "body": "Rats in the alley",
        "service_code": "rats",
    }
    raw = RawPayload(body=json.dumps(body).encode())
    return accept_inbound(channel="api", raw=raw, process_now=True).payload


def test_payloads_list_failed_json_shows_each_failure_with_its_reason(riverton: Any) -> None:
    processed = accept_inbound(channel="portal", raw=portal_payload(), process_now=True).payload
    failed = _failed_api_contact()
    only_failed, everything = StringIO(), StringIO()
    call_command("payloads", "list", "--failed", "--json", stdout=only_failed)
    call_command("payloads", "list", "--json", stdout=everything)

    assert json.loads(only_failed.getvalue()) == [
        {
            "id": failed.pk,
            "channel": "api",
            "provider_message_id": "crm-7",
            "status": "failed",
            "attempts": 1,
            "error": "Unknown service 'rats'.",
            "received_at": failed.created_at.isoformat(),
            "result_reference": None,
        }
    ]
    rows = json.loads(everything.getvalue())
    assert [(row["id"], row["status"]) for row in rows] == [
        (failed.pk, "failed"),
        (processed.pk, "processed"),
    ]
    assert rows[1]["result_reference"] == processed.result_reference


def test_payloads_list_prints_a_table(riverton: Any) -> None:
    failed = _failed_api_contact()
    out = StringIO()
    call_command("payloads", "list", "--failed", stdout=out)

    header, row = out.getvalue().splitlines()
    assert header.split() == [
        "ID",
        "CHANNEL",
        "PROVIDER_MESSAGE_ID",
        "STATUS",
        "ATTEMPTS",
        "RECEIVED_AT",
        "ERROR",
    ]
    assert row.split()[:5] == [str(failed.pk), "api", "crm-7", "failed", "1"]
    assert row.endswith("Unknown service 'rats'.")


def test_replaying_a_payload_that_still_fails_reports_it(riverton: Any) -> None:
    failed = _failed_api_contact()
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("payloads", "replay", "--failed", stdout=out)

    assert out.getvalue() == f"Payload {failed.pk}: failed: Unknown service 'rats'.\n"
    assert str(error.value) == "1 of 1 payload(s) were not processed."
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (PayloadStatus.FAILED, 2)


def test_replay_refuses_processed_and_unknown_payloads(riverton: Any) -> None:
    processed = accept_inbound(channel="portal", raw=portal_payload(), process_now=True).payload
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("payloads", "replay", str(processed.pk), "999999", stdout=out)

    assert out.getvalue() == (
        f"Payload {processed.pk}: not replayed: Payload #{processed.pk} was processed already\n"
        "Payload 999999: not replayed: No inbound payload #999999\n"
    )
    assert str(error.value) == "2 of 2 payload(s) were not processed."
    processed.refresh_from_db()
    assert processed.attempts == 1


def test_replay_needs_ids_or_failed(db: None) -> None:
    with pytest.raises(CommandError) as error:
        call_command("payloads", "replay")

    assert str(error.value) == "Name the payloads to replay (IDs), or use --failed."
