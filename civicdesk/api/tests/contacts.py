"""What the API tests send and check: a contact, references, and "nothing was stored"."""

from __future__ import annotations

from io import StringIO
from typing import Any

from django.core.management import call_command
from django.utils import timezone

from civicdesk.cases.models import Case
from civicdesk.channels.models import InboundPayload
from civicdesk.citizens.models import Citizen

BODY = "My general waste bin was not emptied this morning."


def contact(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "external_id": "crm-1001",
        "citizen": {"name": "Jo Citizen", "email": "jo@mail.example"},
        "subject": "Bin not emptied",
        "body": BODY,
        "service_code": "missed-bin",
        "answers": {"bin_type": "general", "address": "1 River Street"},
    }
    data.update(changes)
    return data


def reference(number: int) -> str:
    return f"RIV-{timezone.localtime().year}-{number:06d}"


def assert_nothing_stored() -> None:
    assert InboundPayload.objects.count() == 0
    assert Case.objects.count() == 0
    assert Citizen.objects.count() == 0


def run_worker() -> None:
    """What a database task worker does, once: every task waiting, then stop."""
    call_command(
        "db_worker", batch=True, startup_delay=False, reload=False, interval=0.1, stdout=StringIO()
    )
