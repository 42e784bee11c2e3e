from django.contrib import admin

from civicdesk.routing.models import KeywordRule, Queue


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin[Queue]):
    list_display = ["name", "team", "is_default", "auto_assign"]


@admin.register(KeywordRule)
class KeywordRuleAdmin(admin.ModelAdmin[KeywordRule]):
    list_display = ["name", "service", "priority", "order", "is_active"]
    list_select_related = ["service"]
    autocomplete_fields = ["service"]
    list_editable = ["order", "is_active"]
