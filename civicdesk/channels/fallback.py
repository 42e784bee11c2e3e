"""The fallback chain: when a delivery cannot reach the citizen on its route (a permanent
failure, a closed reply window), queue the same message on the next route not yet tried.

Loop-safe: every delivery carries the routes its chain has tried (`tried_routes`) and a route
is never tried twice. Each step is recorded (`DeliveryFallback`), handed to the registered
fallback handler inside the same transaction, and published after commit.
"""

from __future__ import annotations

from civicdesk.channels import registry
from civicdesk.channels.contracts import OutgoingMessage
from civicdesk.channels.models import DeliveryFallback, OutboundDelivery
from civicdesk.channels.routes import create_delivery, route_from_json, route_key
from civicdesk.core.clock import now
from civicdesk.realtime.publish import publish


def fall_back(
    delivery: OutboundDelivery, *, reason: str, bounced_recipient: str = ""
) -> DeliveryFallback:
    """Queue the next route of `delivery`'s chain (or record that none is left).

    Precondition: called inside a transaction. Once per delivery: a delivery that already fell
    back (a failed receipt after a failed send) returns its earlier record. Routes naming an
    unknown channel, or lacking the address their channel needs, are skipped (named in the
    reason). `bounced_recipient`: the address a hard bounce said is gone, for the handler.
    """
    # Two failure reports at once (a failed send and a failed receipt, or two receipts) take
    # turns on the delivery's row, so the second finds the first one's record instead of
    # colliding with it on the one-to-one link.
    OutboundDelivery.objects.select_for_update().filter(pk=delivery.pk).values_list(
        "pk", flat=True
    ).get()
    earlier = DeliveryFallback.objects.filter(from_delivery=delivery).first()
    if earlier is not None:
        return earlier
    tried = [list(key) for key in delivery.tried_routes]
    remaining = list(delivery.fallbacks)
    skipped: list[str] = []
    next_delivery: OutboundDelivery | None = None
    while remaining and next_delivery is None:
        route = route_from_json(remaining.pop(0))
        key = route_key(route)
        if key in tried:
            continue
        tried.append(key)
        try:
            adapter = registry.adapter_for(route.channel)
        except registry.UnknownChannel:
            skipped.append(f"{route.channel}: unknown channel")
            continue
        if adapter.needs_recipient and not route.recipient:
            skipped.append(f"{route.channel}: no address")
            continue
        message = OutgoingMessage(
            channel=route.channel,
            recipient=route.recipient,
            body=delivery.body,
            subject=delivery.subject,
            thread_reference=delivery.thread_reference,
            is_automatic=delivery.is_automatic,
        )
        next_delivery = create_delivery(
            message=message,
            route=route,
            attachments=list(delivery.attachments),
            fallbacks=remaining,
            tried=tried,
        )
    full_reason = reason if not skipped else f"{reason} (skipped {'; '.join(skipped)})"
    record = DeliveryFallback.objects.create(
        from_delivery=delivery, to_delivery=next_delivery, reason=full_reason, created_at=now()
    )
    notice = registry.FallbackNotice(
        thread_reference=delivery.thread_reference,
        from_delivery_id=delivery.pk,
        from_channel=delivery.channel,
        to_delivery_id=next_delivery.pk if next_delivery else None,
        to_channel=next_delivery.channel if next_delivery else "",
        reason=full_reason,
        bounced_recipient=bounced_recipient,
    )
    handler = registry.fallback_handler()
    if handler is not None:
        handler(notice)
    publish(
        "delivery.fell_back",
        {
            "delivery_id": delivery.pk,
            "to_delivery_id": notice.to_delivery_id,
            "to_channel": notice.to_channel,
            "thread_reference": delivery.thread_reference,
            "reason": full_reason,
        },
    )
    return record
