from __future__ import annotations

from django.db.models import QuerySet

from civicdesk.channels.models import InboundPayload, PayloadStatus


def failed_payloads(*, limit: int | None = None) -> QuerySet[InboundPayload]:
    query = InboundPayload.objects.filter(status=PayloadStatus.FAILED).order_by("-id")
    return query[:limit] if limit else query


def payloads(*, status: str | None = None, limit: int = 50) -> QuerySet[InboundPayload]:
    query = InboundPayload.objects.order_by("-id")
    if status:
        query = query.filter(status=status)
    return query[:limit]
