from typing import Any

from django.contrib import admin

from civicdesk.catalogue.models import Service, ServiceAttribute, ServiceGroup


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
