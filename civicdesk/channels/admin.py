from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from civicdesk.channels import services
from civicdesk.channels.models import (
    ChannelAccount,
    DeliveryAttempt,
    InboundPayload,
    OutboundDelivery,
)
from civicdesk.core.errors import DomainError


@admin.register(ChannelAccount)
class ChannelAccountAdmin(admin.ModelAdmin[ChannelAccount]):
    list_display = ["kind", "name", "is_active"]
    list_filter = ["kind", "is_active"]


@admin.register(InboundPayload)
class InboundPayloadAdmin(admin.ModelAdmin[InboundPayload]):
    list_display = ["id", "channel", "provider_message_id", "status", "attempts", "created_at"]
    list_filter = ["status", "channel"]
    search_fields = ["provider_message_id", "result_reference", "error"]
    exclude = ["body"]
    readonly_fields = [
        *(f.name for f in InboundPayload._meta.fields if f.name != "body"),
        "body_text",
    ]
    actions = ["replay"]

    @admin.action(description="Replay the selected payloads")
    def replay(self, request: HttpRequest, queryset: QuerySet[InboundPayload]) -> None:
        for payload in queryset:
            try:
                result = services.replay_payload(payload_id=payload.pk)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                self.message_user(request, f"Payload #{payload.pk}: {result.status}")


class DeliveryAttemptInline(admin.TabularInline[DeliveryAttempt, Any]):
    model = DeliveryAttempt
    extra = 0
    readonly_fields = ["attempted_at", "outcome", "provider_message_id", "error"]


@admin.register(OutboundDelivery)
class OutboundDeliveryAdmin(admin.ModelAdmin[OutboundDelivery]):
    list_display = ["id", "channel", "recipient", "status", "attempts", "created_at"]
    list_filter = ["status", "channel"]
    inlines = [DeliveryAttemptInline]
