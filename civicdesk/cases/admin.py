from typing import Any

from django.contrib import admin

from civicdesk.cases.models import Case, CaseEvent, Service, ServiceAttribute, ServiceGroup


class ServiceAttributeInline(admin.StackedInline[ServiceAttribute, Any]):
    model = ServiceAttribute
    extra = 0


@admin.register(ServiceGroup)
class ServiceGroupAdmin(admin.ModelAdmin[ServiceGroup]):
    list_display = ["name", "order"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin[Service]):
    list_display = ["name", "code", "group", "queue", "sla_policy", "is_active"]
    list_filter = ["group", "is_active", "queue"]
    search_fields = ["name", "code", "keywords"]
    inlines = [ServiceAttributeInline]


class CaseEventInline(admin.TabularInline[CaseEvent, Any]):
    model = CaseEvent
    extra = 0
    fields = ["created_at", "kind", "author", "channel", "body", "is_public"]
    readonly_fields = ["created_at", "kind", "author", "channel", "body", "is_public"]
    can_delete = False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin[Case]):
    list_display = ["reference", "subject", "status", "priority", "channel", "queue", "assignee"]
    list_filter = ["status", "priority", "channel", "queue"]
    search_fields = ["reference", "subject"]
    raw_id_fields = ["citizen", "assignee", "service"]
    readonly_fields = ["reference", "status_token_digest"]
    inlines = [CaseEventInline]
