import json
from io import StringIO
from typing import Any

from django.core.management import call_command

from civicdesk.cases.models import Case
from civicdesk.cases.selectors import case_row
from civicdesk.channels.services import accept_inbound
from tests.factories import portal_payload


def _two_cases() -> list[Case]:
    accept_inbound(channel="portal", raw=portal_payload(), process_now=True)
    accept_inbound(
        channel="portal",
        raw=portal_payload(service_code="pothole", answers={"location": "Mill Lane"}),
        process_now=True,
    )
    return list(Case.objects.order_by("-created_at", "-id"))


def test_cases_list_json_gives_the_newest_cases_with_their_routing(riverton: Any) -> None:
    pothole, bin_case = _two_cases()
    out = StringIO()
    call_command("cases", "list", "--json", stdout=out)

    rows = json.loads(out.getvalue())
    assert rows == [case_row(pothole), case_row(bin_case)]
    assert {k: rows[0][k] for k in ("channel", "service", "status", "queue", "assignee")} == {
        "channel": "portal",
        "service": "pothole",
        "status": "new",
        "queue": "Roads",
        "assignee": "cara@riverton.example",
    }
    assert list(rows[0]) == [
        "reference",
        "channel",
        "service",
        "status",
        "priority",
        "queue",
        "assignee",
        "subject",
        "created_at",
        "sla_due_at",
    ]


def test_cases_list_limits_and_prints_a_table(riverton: Any) -> None:
    pothole, _ = _two_cases()
    limited, table = StringIO(), StringIO()
    call_command("cases", "list", "--json", "--limit", "1", stdout=limited)
    call_command("cases", "list", stdout=table)

    assert [row["reference"] for row in json.loads(limited.getvalue())] == [pothole.reference]
    header, first, second = table.getvalue().splitlines()
    assert header.split() == [
        "REFERENCE",
        "STATUS",
        "CHANNEL",
        "SERVICE",
        "QUEUE",
        "ASSIGNEE",
        "CREATED_AT",
    ]
    assert first.split()[:6] == [
        pothole.reference,
        "new",
        "portal",
        "pothole",
        "Roads",
        "cara@riverton.example",
    ]
    assert second.split()[3] == "missed-bin"


def test_cases_list_says_when_there_are_none(db: None) -> None:
    out = StringIO()
    call_command("cases", "list", stdout=out)

    assert out.getvalue() == "No cases yet.\n"
