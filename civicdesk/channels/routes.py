"""Delivery routes and attachment refs as the JSON a delivery stores them in, and the one
place a delivery row is created (for a first route and for each fallback)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction

from civicdesk.channels.contracts import AttachmentRef, DeliveryRoute, OutgoingMessage
from civicdesk.channels.models import OutboundDelivery
from civicdesk.core.limits import SUBJECT_MAX_LENGTH


def route_to_json(route: DeliveryRoute) -> dict[str, Any]:
    return {
        "channel": route.channel,
        "recipient": route.recipient,
        "account_id": route.account_id,
        "last_inbound_at": route.last_inbound_at.isoformat() if route.last_inbound_at else None,
    }


def route_from_json(data: Mapping[str, Any]) -> DeliveryRoute:
    at = data.get("last_inbound_at")
    return DeliveryRoute(
        channel=str(data["channel"]),
        recipient=str(data.get("recipient") or ""),
        account_id=data.get("account_id"),
        last_inbound_at=datetime.fromisoformat(at) if at else None,
    )


def route_key(route: DeliveryRoute) -> list[Any]:
    """What makes two routes the same (a chain never tries one twice): channel, address,
    account."""
    return [route.channel, route.recipient, route.account_id]


def attachment_to_json(ref: AttachmentRef) -> dict[str, str]:
    return {
        "storage_name": ref.storage_name,
        "filename": ref.filename,
        "content_type": ref.content_type,
    }


def attachment_from_json(data: Mapping[str, Any]) -> AttachmentRef:
    return AttachmentRef(
        storage_name=str(data["storage_name"]),
        filename=str(data["filename"]),
        content_type=str(data.get("content_type") or "application/octet-stream"),
    )


def create_delivery(
    *,
    message: OutgoingMessage,
    route: DeliveryRoute,
    attachments: list[dict[str, str]],
    fallbacks: list[dict[str, Any]],
    tried: list[list[Any]],
) -> OutboundDelivery:
    """Store one delivery on `route` and enqueue its sending after commit."""
    delivery = OutboundDelivery.objects.create(
        channel=route.channel,
        account_id=route.account_id,
        recipient=route.recipient,
        recipient_kind=message.recipient_kind,
        subject=message.subject[:SUBJECT_MAX_LENGTH],
        body=message.body,
        thread_reference=message.thread_reference,
        is_automatic=message.is_automatic,
        copy_to=list(message.copy_to),
        attachments=attachments,
        fallbacks=fallbacks,
        tried_routes=tried,
        last_inbound_at=route.last_inbound_at,
    )
    from civicdesk.channels.tasks import deliver

    transaction.on_commit(lambda: deliver.enqueue(delivery_id=delivery.pk), robust=True)
    return delivery
