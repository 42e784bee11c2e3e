"""The others in a case's conversation: addresses copied on the citizen's emails.

They receive the replies too (as copies, in the channels that can copy). Costs: one INSERT
per message that names any (conflicts ignored: each address is kept once per case).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from civicdesk.cases.models import Case, CaseParticipant


def add_participants(*, case: Case, contacts: Sequence[tuple[str, str]], at: datetime) -> None:
    """Keep each (kind, value) on the case once; the citizen's reply address is never one."""
    rows = [
        CaseParticipant(case=case, kind=kind, value=value[:254], added_at=at)
        for kind, value in dict.fromkeys(contacts)
        if value and value != case.channel_identity
    ]
    if rows:
        CaseParticipant.objects.bulk_create(rows, ignore_conflicts=True)


def participant_values(case: Case, *, kind: str) -> list[str]:
    """The case's participants of `kind` (email addresses), first added first."""
    return list(
        CaseParticipant.objects.filter(case=case, kind=kind).values_list("value", flat=True)
    )
