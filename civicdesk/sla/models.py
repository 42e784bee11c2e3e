from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicdesk.core.limits import PRIORITY_MAX_LENGTH
from civicdesk.core.models import TimeStampedModel
from civicdesk.core.priority import Priority

WEEKDAYS_9_TO_5 = {str(day): [[9 * 60, 17 * 60]] for day in range(5)}


def _default_hours() -> dict[str, list[list[int]]]:
    return {key: [list(window) for window in windows] for key, windows in WEEKDAYS_9_TO_5.items()}


class BusinessCalendar(TimeStampedModel):
    """Opening hours and public holidays of the body, for service-level targets."""

    name = models.CharField(max_length=120, unique=True)
    timezone = models.CharField(max_length=60, default="Europe/London")
    hours = models.JSONField(
        default=_default_hours,
        help_text=_(
            "Weekday (0 = Monday) → list of [open, close] minutes from midnight, e.g. "
            '{"0": [[540, 1020]]} for Monday 09:00-17:00.'
        ),
    )
    holiday_country = models.CharField(
        max_length=2, blank=True, help_text=_("ISO country code for public holidays, e.g. GB, RO.")
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text=_("Region for public holidays, e.g. ENG.")
    )
    extra_closed_dates = models.JSONField(
        default=list, blank=True, help_text=_("Further closed days as YYYY-MM-DD.")
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from civicdesk.sla.services import calendar_spec

        try:
            calendar_spec(self, years=range(2000, 2001))
        except (ValueError, KeyError, NotImplementedError) as exc:
            raise ValidationError(str(exc)) from exc


class SlaPolicy(TimeStampedModel):
    name = models.CharField(max_length=120, unique=True)
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT)
    is_default = models.BooleanField(default=False)
    warn_within_minutes = models.PositiveIntegerField(
        default=30,
        help_text=_(
            "A clock warns once no more than this many business minutes are left (0: no warning)."
        ),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"

    def __str__(self) -> str:
        return self.name


class SlaTarget(models.Model):
    """Targets of a policy for one priority, in business minutes."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    priority = models.CharField(max_length=PRIORITY_MAX_LENGTH, choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField()
    resolution_minutes = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy", "priority"], name="sla_target_per_priority")
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.priority}"


class EscalationLevel(models.TextChoices):
    WARNING = "warning", _("Warning")
    BREACH = "breach", _("Breach")


class PriorityChange(models.TextChoices):
    NONE = "", _("Leave as it is")
    ONE_STEP = "step", _("One step higher")
    # Plain strings with the platform's priority values; raising never lowers a priority.
    NORMAL = "normal", _("At least normal")
    HIGH = "high", _("At least high")
    URGENT = "urgent", _("At least urgent")


class EscalationRule(models.Model):
    """What happens to a case when one of its clocks warns or is breached, once per clock."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="escalations")
    level = models.CharField(max_length=10, choices=EscalationLevel.choices)
    notify_supervisor = models.BooleanField(
        default=False, help_text=_("Tell the supervisors of the case's queue, live.")
    )
    raise_priority = models.CharField(
        max_length=10, choices=PriorityChange.choices, default=PriorityChange.NONE, blank=True
    )
    reassign_to_queue = models.ForeignKey(
        "routing.Queue",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Move the case to this queue."),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["policy", "level"], name="sla_escalation_per_level")
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.level}"
