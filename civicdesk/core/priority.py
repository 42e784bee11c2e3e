"""How urgent a case is: one vocabulary for cases, routing rules, service levels and services."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")
