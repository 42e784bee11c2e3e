import json
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.utils import timezone

from civicdesk.channels.models import InboundPayload, PayloadStatus


def _reference(number: int) -> str:
    return f"RIV-{timezone.localtime().year}-{number:06d}"


def test_inbound_console_queues_a_message_that_becomes_a_case(
    riverton: Any, django_capture_on_commit_callbacks: Any
) -> None:
    out, err = StringIO(), StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "inbound",
            "console",
            "--from",
            "jo@mail.example",
            "--text",
            "There is a pothole outside 4 Mill Lane",
            "--name",
            "Jo Citizen",
            stdout=out,
            stderr=err,
        )

    payload = InboundPayload.objects.get()
    assert out.getvalue() == f"{payload.pk}\n"
    assert err.getvalue() == "Queued: the task worker will process it.\n"
    assert json.loads(bytes(payload.body)) == {
        "from": "jo@mail.example",
        "text": "There is a pothole outside 4 Mill Lane",
        "name": "Jo Citizen",
    }
    # The task ran when the command's transaction committed (immediate backend in tests).
    assert (payload.channel, payload.status) == ("console", PayloadStatus.PROCESSED)
    assert payload.result_reference == _reference(1)
    cases = StringIO()
    call_command("cases", "list", "--json", stdout=cases)
    [case] = json.loads(cases.getvalue())
    assert {k: case[k] for k in ("reference", "channel", "service", "queue", "assignee")} == {
        "reference": _reference(1),
        "channel": "console",
        "service": "pothole",
        "queue": "Roads",
        "assignee": "cara@riverton.example",
    }


def test_inbound_console_follow_up_joins_the_case_and_a_repeat_is_ignored(
    riverton: Any, django_capture_on_commit_callbacks: Any
) -> None:
    send = ["inbound", "console", "--from", "+44 117 496 0123", "--id", "sms-1"]
    with django_capture_on_commit_callbacks(execute=True):
        call_command(*send, "--text", "Pothole on Mill Lane", stdout=StringIO())
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "inbound",
            "console",
            "--from",
            "+44 117 496 0123",
            "--case",
            _reference(1),
            "--text",
            "It is getting bigger",
            stdout=StringIO(),
        )
    first = InboundPayload.objects.order_by("id").first()
    assert first is not None
    out, err = StringIO(), StringIO()
    call_command(*send, "--text", "Pothole on Mill Lane", stdout=out, stderr=err)

    assert out.getvalue() == f"{first.pk}\n"
    assert err.getvalue() == f"Message id seen before: payload {first.pk} (processed).\n"
    assert list(InboundPayload.objects.values_list("status", "result_reference")) == [
        (PayloadStatus.PROCESSED, _reference(1)),
        (PayloadStatus.PROCESSED, _reference(1)),
    ]
