from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from civicdesk.citizens.kernels.contact_points import ContactKind
from civicdesk.core.limits import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH
from civicdesk.core.models import TimeStampedModel


class Citizen(TimeStampedModel):
    """One person, however many channels they use to reach the body."""

    full_name = models.CharField(max_length=NAME_MAX_LENGTH, blank=True)
    preferred_language = models.CharField(max_length=10, default="en")
    preferred_channel = models.CharField(max_length=30, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.full_name or _("Citizen #%(id)s") % {"id": self.pk}


class ContactPoint(TimeStampedModel):
    citizen = models.ForeignKey(Citizen, on_delete=models.CASCADE, related_name="contact_points")
    kind = models.CharField(max_length=20, choices=[(k.value, k.value) for k in ContactKind])
    value = models.CharField(
        max_length=EMAIL_MAX_LENGTH, help_text=_("Normalised form: lower-case, E.164.")
    )
    is_verified = models.BooleanField(default=False)
    # A hard bounce (or the like) said messages cannot reach this point: replies skip it
    # until the citizen writes from it again or staff clear it. Null: deliverable.
    undeliverable_at = models.DateTimeField(null=True, blank=True)
    undeliverable_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["kind", "value"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="contact_point_unique_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"
