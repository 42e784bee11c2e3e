from typing import Any

from django.contrib import admin

from civicdesk.sla.models import BusinessCalendar, SlaPolicy, SlaTarget


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin[BusinessCalendar]):
    list_display = ["name", "timezone", "holiday_country", "holiday_subdivision"]


class SlaTargetInline(admin.TabularInline[SlaTarget, Any]):
    model = SlaTarget
    extra = 0


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin[SlaPolicy]):
    list_display = ["name", "calendar", "is_default"]
    inlines = [SlaTargetInline]
