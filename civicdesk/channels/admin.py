from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from civicdesk.channels import selectors, services
from civicdesk.channels.account_forms import ChannelAccountForm
from civicdesk.channels.accounts import check_account_connection
from civicdesk.channels.models import (
    ChannelAccount,
    DeliveryAttempt,
    InboundPayload,
    OutboundDelivery,
)
from civicdesk.channels.selectors import channel_label
from civicdesk.core.errors import DomainError


@admin.register(ChannelAccount)
class ChannelAccountAdmin(admin.ModelAdmin[ChannelAccount]):
    """Settings come from the adapter's schema; secrets are write-only (see account_forms).

    On "add", choose the kind and save; the kind's settings appear when the account is edited
    (or at once when the page is opened as ?kind=<kind>). "Test connection" (a button on the
    account's page, and a list action) runs the adapter's checks in the request, with the
    account's own timeouts, and shows each step as a message.
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
    actions = ["test_connections"]

    def get_urls(self) -> list[URLPattern]:
        test = path(
            "<int:account_id>/test-connection/",
            self.admin_site.admin_view(require_POST(self.test_connection_view)),
            name="contact_channels_channelaccount_test_connection",
        )
        return [test, *super().get_urls()]

    def test_connection_view(self, request: HttpRequest, account_id: int) -> HttpResponseRedirect:
        """The change page's "Test connection" button: each step as a message, then back."""
        account = get_object_or_404(ChannelAccount, pk=account_id)
        if not self.has_change_permission(request, account):
            raise PermissionDenied
        self._report(request, account, prefix="")
        return HttpResponseRedirect(
            reverse("admin:contact_channels_channelaccount_change", args=[account.pk])
        )

    @admin.action(
        description="Test the connection of the selected accounts", permissions=["change"]
    )
    def test_connections(self, request: HttpRequest, queryset: QuerySet[ChannelAccount]) -> None:
        for account in queryset:
            self._report(request, account, prefix=f"{account.name}: ")

    def _report(self, request: HttpRequest, account: ChannelAccount, *, prefix: str) -> None:
        checks = check_account_connection(account=account)
        if not checks:
            self.message_user(
                request,
                f"{prefix}{channel_label(account.kind)} accounts have no connection to test.",
                messages.INFO,
            )
        for check in checks:
            level = messages.SUCCESS if check.ok else messages.ERROR
            self.message_user(request, f"{prefix}{check.step}: {check.detail}", level)

    @admin.display(description="Catch-up (last poll)")
    def catch_up(self, obj: ChannelAccount) -> str:
        return selectors.poll_progress_text(obj)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None or self.has_change_permission(request, obj):
            # The form's own fields, plus the schema's it adds itself. Staff who may only view
            # get Django's read-only form (every field excluded), which needs the names.
            kwargs["fields"] = None
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
