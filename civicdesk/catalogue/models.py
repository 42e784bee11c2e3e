"""The service catalogue. Questions follow the Open311 GeoReport v2 attribute model."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicdesk.core.limits import PRIORITY_MAX_LENGTH, SERVICE_CODE_MAX_LENGTH, SUBJECT_MAX_LENGTH
from civicdesk.core.models import TimeStampedModel
from civicdesk.core.priority import Priority


def _translated(obj: Any, field: str, language: str) -> str:
    value = (obj.translations or {}).get(language, {}).get(field)
    return str(value) if value else str(getattr(obj, field))


class ServiceGroup(TimeStampedModel):
    name = models.CharField(max_length=120, unique=True)
    order = models.PositiveIntegerField(default=100)
    translations = models.JSONField(default=dict, blank=True)

    class Meta:
        # The catalogue began inside `cases`; its tables kept their names when it moved.
        db_table = "cases_servicegroup"
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def localized_name(self, language: str) -> str:
        return _translated(self, "name", language)


class Service(TimeStampedModel):
    """Something citizens can ask for: Open311 `service_code`, `service_name`, `group` …"""

    code = models.SlugField(max_length=SERVICE_CODE_MAX_LENGTH, unique=True)
    name = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    group = models.ForeignKey(ServiceGroup, on_delete=models.PROTECT, related_name="services")
    keywords = models.CharField(
        max_length=SUBJECT_MAX_LENGTH, blank=True, help_text=_("Open311 keywords.")
    )
    queue = models.ForeignKey(
        "routing.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="services"
    )
    sla_policy = models.ForeignKey(
        "sla.SlaPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="services"
    )
    default_priority = models.CharField(
        max_length=PRIORITY_MAX_LENGTH, choices=Priority.choices, default=Priority.NORMAL
    )
    is_active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=100)
    translations = models.JSONField(
        default=dict, blank=True, help_text=_('{"ro": {"name": "…", "description": "…"}}')
    )

    class Meta:
        db_table = "cases_service"
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    def localized_name(self, language: str) -> str:
        return _translated(self, "name", language)

    def localized_description(self, language: str) -> str:
        return _translated(self, "description", language)


class AttributeDatatype(models.TextChoices):
    STRING = "string", _("Short text")
    NUMBER = "number", _("Number")
    DATETIME = "datetime", _("Date and time")
    TEXT = "text", _("Long text")
    SINGLE_VALUE_LIST = "singlevaluelist", _("One choice")
    MULTI_VALUE_LIST = "multivaluelist", _("Several choices")


class ServiceAttribute(models.Model):
    """A question a service asks (Open311 attribute: code, datatype, required, values, order)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="attributes")
    code = models.SlugField(max_length=SERVICE_CODE_MAX_LENGTH)
    variable = models.BooleanField(
        default=True, help_text=_("False: information only, no answer expected.")
    )
    datatype = models.CharField(max_length=20, choices=AttributeDatatype.choices)
    required = models.BooleanField(default=False)
    description = models.CharField(
        max_length=SUBJECT_MAX_LENGTH, help_text=_("The question, as citizens see it.")
    )
    datatype_description = models.CharField(max_length=SUBJECT_MAX_LENGTH, blank=True)
    order = models.PositiveIntegerField(default=1)
    values = models.JSONField(
        default=list, blank=True, help_text=_('For lists: [{"key": "…", "name": "…"}, …]')
    )
    minimum = models.DecimalField(
        max_digits=18,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("Numbers only: the smallest answer accepted (empty: no lower limit)."),
    )
    maximum = models.DecimalField(
        max_digits=18,
        decimal_places=6,
        null=True,
        blank=True,
        help_text=_("Numbers only: the largest answer accepted (empty: no upper limit)."),
    )
    translations = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "cases_serviceattribute"
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["service", "code"], name="attribute_code_per_service"),
            models.CheckConstraint(
                condition=models.Q(minimum__isnull=True)
                | models.Q(maximum__isnull=True)
                | models.Q(minimum__lte=models.F("maximum")),
                name="attribute_minimum_not_above_maximum",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service.code}.{self.code}"

    def clean(self) -> None:
        if self.datatype != AttributeDatatype.NUMBER and (
            self.minimum is not None or self.maximum is not None
        ):
            raise ValidationError(_("Only number questions can have a minimum or maximum."))
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValidationError(_("The minimum cannot be above the maximum."))

    def localized_description(self, language: str) -> str:
        return _translated(self, "description", language)

    def localized_datatype_description(self, language: str) -> str:
        """The hint shown under the question (Open311 `datatype_description`), or ""."""
        return _translated(self, "datatype_description", language)

    def localized_values(self, language: str) -> list[tuple[str, str]]:
        names = (self.translations or {}).get(language, {}).get("values", {})
        return [(str(v["key"]), str(names.get(str(v["key"]), v["name"]))) for v in self.values]
