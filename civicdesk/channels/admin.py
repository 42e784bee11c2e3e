from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from civicdesk.channels import selectors, services
from civicdesk.channels.account_forms import ChannelAccountForm
from civicdesk.channels.models import (
    ChannelAccount,
    DeliveryAttempt,
    InboundPayload,
    OutboundDelivery,
)
from civicdesk.core.errors import DomainError


@admin.register(ChannelAccount)
class ChannelAccountAdmin(admin.ModelAdmin[ChannelAccount]):
    """Settings come from the adapter's schema; secrets are write-only (see account_forms).

    On "add", choose the kind and save; the kind's settings appear when the account is edited
    (or at once when the page is opened as ?kind=<kind>).
    """

    form = ChannelAccountForm
    list_display = ["kind", "name", "is_active", "rejected_webhooks", "last_polled_at", "catch_up"]
    list_filter = ["kind", "is_active"]
    readonly_fields = [
        "uuid",
        "rejected_webhooks",
        "last_rejected_at",
        "last_rejected_reason",
        "last_polled_at",
        "last_poll_error",
        "catch_up",
    ]

    @admin.display(description="Catch-up (last poll)")
    def catch_up(self, obj: ChannelAccount) -> str:
        return selectors.poll_progress_text(obj)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        kwargs["fields"] = None  # the form's own fields, plus the schema's it adds itself
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: ChannelAccount | None = None) -> Any:
        form = ChannelAccountForm(
            instance=obj, data=request.POST or None, initial=request.GET.dict()
        )
        readonly = self.readonly_fields if obj else []
        return [(None, {"fields": [*form.fields, *readonly]})]


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
