from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from civicdesk.core.limits import PRIORITY_MAX_LENGTH
from civicdesk.core.models import TimeStampedModel
from civicdesk.core.priority import Priority


class Queue(TimeStampedModel):
    """Where cases wait for a team. Cases route to a queue by their service."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="queues")
    is_default = models.BooleanField(
        default=False, help_text=_("Cases with no service, or a service without a queue.")
    )
    auto_assign = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class KeywordRule(TimeStampedModel):
    """Administrator-edited rule: free text mentioning these words belongs to that service."""

    name = models.CharField(max_length=120)
    keywords = models.TextField(help_text=_("One keyword or phrase per line, or comma-separated."))
    match_all = models.BooleanField(default=False, help_text=_("Require every keyword."))
    # Null only for a rule whose service code named no service when codes became links; such a
    # rule was switched off by that migration and does nothing until an administrator fixes it.
    service = models.ForeignKey(
        "catalogue.Service",
        null=True,
        on_delete=models.PROTECT,
        related_name="keyword_rules",
        help_text=_("The service to file matching text as."),
    )
    priority = models.CharField(
        max_length=PRIORITY_MAX_LENGTH,
        choices=Priority.choices,
        blank=True,
        help_text=_("Optional priority to set."),
    )
    order = models.PositiveIntegerField(default=100)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name
