from typing import Any

from django.contrib import admin

from civicdesk.sla.models import BusinessCalendar, EscalationRule, SlaPolicy, SlaTarget


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin[BusinessCalendar]):
    list_display = ["name", "timezone", "holiday_country", "holiday_subdivision"]


class SlaTargetInline(admin.TabularInline[SlaTarget, Any]):
    model = SlaTarget
    extra = 0


class EscalationRuleInline(admin.TabularInline[EscalationRule, Any]):
    model = EscalationRule
    extra = 0
    max_num = 2  # one per level


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin[SlaPolicy]):
    list_display = ["name", "calendar", "is_default", "warn_within_minutes"]
    inlines = [SlaTargetInline, EscalationRuleInline]
