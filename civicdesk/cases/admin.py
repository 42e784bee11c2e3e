from typing import Any

from django.contrib import admin

from civicdesk.cases.models import Case, CaseEvent


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
