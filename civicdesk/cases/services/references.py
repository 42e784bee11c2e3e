"""Case references: RIV-2026-000123, numbered per prefix and year without gaps between commits."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from civicdesk.cases.models import ReferenceSequence


def next_reference(*, at: datetime) -> str:
    """The next human-friendly reference, e.g. RIV-2026-000123.

    Precondition: inside a transaction; the year's counter row stays locked until it commits,
    so concurrent openings take turns (one short row lock per new case).
    """
    prefix = settings.CIVICDESK_REFERENCE_PREFIX
    year = timezone.localtime(at).year
    sequence, _ = ReferenceSequence.objects.select_for_update().get_or_create(
        prefix=prefix, year=year
    )
    ReferenceSequence.objects.filter(pk=sequence.pk).update(last_value=F("last_value") + 1)
    sequence.refresh_from_db(fields=["last_value"])
    return f"{prefix}-{year}-{sequence.last_value:06d}"
