from __future__ import annotations

import json

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


def payload_summary(payload: InboundPayload) -> dict[str, object]:
    body: object = payload.body_text
    if payload.content_type.startswith("application/json"):
        try:
            body = json.loads(bytes(payload.body))
        except ValueError:
            body = payload.body_text
    return {
        "id": payload.pk,
        "channel": payload.channel,
        "provider_message_id": payload.provider_message_id,
        "status": payload.status,
        "attempts": payload.attempts,
        "error": payload.error.split("\n\n", 1)[0],
        "received_at": payload.created_at.isoformat(),
        "body": body,
    }
