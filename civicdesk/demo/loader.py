"""Loading and removing the Riverton demo.

Demo cases are the cases of demo citizens (whose email is on `people.CITIZEN_DOMAIN`).
Loading is idempotent: reference data is get-or-create, history is made only when no demo
citizen exists yet. `reset` removes the demo cases, their citizens and deliveries first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet

from civicdesk.cases.models import Case
from civicdesk.cases.services import restart_numbering
from civicdesk.channels.models import InboundPayload, OutboundDelivery
from civicdesk.citizens.models import Citizen
from civicdesk.core.clock import now
from civicdesk.demo.catalogue import ensure_catalogue
from civicdesk.demo.channel_accounts import ensure_channel_accounts
from civicdesk.demo.history import load_history
from civicdesk.demo.knowledge import ensure_articles
from civicdesk.demo.organisation import ensure_organisation
from civicdesk.demo.people import CITIZEN_DOMAIN

SEED = 2026


@dataclass(frozen=True)
class DemoLoad:
    removed_cases: int
    created_cases: int
    services: int


def demo_citizens() -> QuerySet[Citizen]:
    return Citizen.objects.filter(
        contact_points__kind="email", contact_points__value__endswith=f"@{CITIZEN_DOMAIN}"
    ).distinct()


def remove_demo_cases() -> int:
    """Delete the demo citizens with their cases; returns how many cases went."""
    citizen_ids = list(demo_citizens().values_list("pk", flat=True))
    cases = Case.objects.filter(citizen_id__in=citizen_ids)
    references = list(cases.values_list("reference", flat=True))
    OutboundDelivery.objects.filter(thread_reference__in=references).delete()
    InboundPayload.objects.filter(result_reference__in=references).delete()
    cases.delete()
    Citizen.objects.filter(pk__in=citizen_ids).delete()
    if not Case.objects.exists() and not InboundPayload.objects.exclude(reference="").exists():
        # Nothing else was numbered (no case, no reference given to a contact still waiting
        # for its case): start again at 000001, so a reload is identical.
        restart_numbering()
    return len(references)


@transaction.atomic
def load_demo(*, reset: bool = False) -> DemoLoad:
    removed = remove_demo_cases() if reset else 0
    org = ensure_organisation()
    services = ensure_catalogue(org)
    ensure_channel_accounts()
    ensure_articles(services)
    created = 0
    if not demo_citizens().exists():
        rng = random.Random(SEED)
        created = load_history(org=org, services=services, rng=rng, now=now())
    return DemoLoad(removed_cases=removed, created_cases=created, services=len(services))
