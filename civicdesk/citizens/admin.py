from typing import Any

from django.contrib import admin

from civicdesk.citizens.models import Citizen, ContactPoint


class ContactPointInline(admin.TabularInline[ContactPoint, Any]):
    model = ContactPoint
    extra = 0


@admin.register(Citizen)
class CitizenAdmin(admin.ModelAdmin[Citizen]):
    list_display = ["__str__", "preferred_language", "preferred_channel", "created_at"]
    search_fields = ["full_name", "contact_points__value"]
    inlines = [ContactPointInline]
