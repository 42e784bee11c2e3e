"""Cases and their timelines."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicdesk.cases.kernels.status import ACCEPTS_CONTACT, CaseStatus
from civicdesk.core.limits import NAME_MAX_LENGTH, PRIORITY_MAX_LENGTH, SUBJECT_MAX_LENGTH
from civicdesk.core.models import TimeStampedModel
from civicdesk.core.priority import Priority
from civicdesk.realtime.events import Event, event_from_data


class ReferenceSequence(models.Model):
    """The last case number used per prefix and year: RIV-2026-000123."""

    prefix = models.CharField(max_length=10)
    year = models.PositiveIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prefix", "year"], name="reference_sequence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last_value}"


class Case(TimeStampedModel):
    reference = models.CharField(max_length=30, unique=True)
    # Only the SHA-256 of the private status link's secret is kept: the link itself is shown
    # to the citizen once and never stored, so neither staff nor a database copy can use it.
    status_token_digest = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=20,
        choices=[(s.value, s.value.title()) for s in CaseStatus],
        default=CaseStatus.NEW,
        db_index=True,
    )
    priority = models.CharField(
        max_length=PRIORITY_MAX_LENGTH, choices=Priority.choices, default=Priority.NORMAL
    )
    subject = models.CharField(max_length=SUBJECT_MAX_LENGTH, blank=True)
    service = models.ForeignKey(
        "catalogue.Service", null=True, blank=True, on_delete=models.PROTECT, related_name="cases"
    )
    answers = models.JSONField(default=dict, blank=True)
    channel = models.CharField(max_length=30, help_text=_("The channel the case came in by."))
    # The account the citizen wrote to, and their address on that channel (phone, email,
    # handle): replies leave from the same account to the same address unless someone chooses.
    channel_account = models.ForeignKey(
        "contact_channels.ChannelAccount",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel_identity = models.CharField(max_length=254, blank=True)
    citizen = models.ForeignKey("citizens.Citizen", on_delete=models.PROTECT, related_name="cases")
    language = models.CharField(max_length=10, default="en")
    queue = models.ForeignKey(
        "routing.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
    )
    classified_by = models.CharField(max_length=160, blank=True)
    sla_policy_name = models.CharField(max_length=120, blank=True)
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The next target that can still be met or missed; inbox sorts by it.
    sla_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # --- service-level clock (see docs/architecture.md, "SLA clocks, pauses and escalation")
    sla_policy = models.ForeignKey(
        "sla.SlaPolicy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # While the case waits on the citizen its clocks are paused from this instant.
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    # When a clock can next warn or breach; the periodic escalation job finds cases by it.
    sla_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Markers of escalations already run, e.g. "first_response:warning".
    sla_escalated = models.JSONField(default=list, blank=True)
    # The closed case this one follows up: the citizen wrote about it again after the reopen
    # window (CIVICDESK_REOPEN_WINDOW_DAYS), so a new case was opened and linked to it.
    follows = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
        help_text=_("The earlier, closed case this one follows up."),
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["assignee", "status", "sla_due_at"], name="case_inbox_mine"),
            models.Index(fields=["queue", "status", "sla_due_at"], name="case_inbox_queue"),
            models.Index(fields=["citizen", "created_at"], name="case_citizen_history"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def status_value(self) -> CaseStatus:
        return CaseStatus(self.status)

    @property
    def accepts_contact(self) -> bool:
        return self.status_value in ACCEPTS_CONTACT


class CaseEvent(models.Model):
    """One entry on a case's timeline. Messages, notes and changes alike, in order.

    `kind` and `data` are a typed event (`cases.events`): `data` is its `to_data()`, and
    `as_event()` gives the dataclass back. Kinds are not model choices, so declaring a new
    event needs no migration.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=60, help_text=_("A typed event kind, e.g. case.opened."))
    created_at = models.DateTimeField(db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Who wrote an inbound message: the citizen. Kept for display when the author is not staff.
    author_label = models.CharField(max_length=NAME_MAX_LENGTH, blank=True)
    channel = models.CharField(max_length=30, blank=True)
    body = models.TextField(blank=True)
    # A message that came only as HTML: that HTML as the channel sanitised it (the body is its
    # text). Sanitised again whenever it is shown (cases.kernels.message_html); never marked
    # safe as stored.
    body_html = models.TextField(blank=True)
    is_public = models.BooleanField(
        default=False, help_text=_("Shown to the citizen on their status page.")
    )
    data = models.JSONField(default=dict, blank=True)
    delivery = models.ForeignKey(
        "contact_channels.OutboundDelivery",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    payload = models.ForeignKey(
        "contact_channels.InboundPayload",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="case_event_timeline")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} at {self.created_at:%Y-%m-%d %H:%M}"

    def as_event(self) -> Event:
        """The typed event this entry records; raises if its data no longer fits its kind."""
        return event_from_data(self.kind, self.data)


def attachment_path(instance: Attachment, filename: str) -> str:
    # A random folder: names never collide, and a reference reused after a rollback never
    # collects another case's files. Files are only ever served through an access check.
    return f"attachments/{uuid.uuid4().hex}/{filename}"


class CaseParticipant(models.Model):
    """Someone besides the citizen in the case's conversation (an address copied on an email),
    who receives the replies too."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="participants")
    kind = models.CharField(max_length=30)  # a contact-point kind: email
    value = models.CharField(max_length=254)
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "kind", "value"], name="case_participant_once")
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.value}"


class Attachment(models.Model):
    event = models.ForeignKey(CaseEvent, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=255)
    filename = models.CharField(max_length=NAME_MAX_LENGTH)
    content_type = models.CharField(max_length=120)
    size = models.PositiveIntegerField()
    # An image shown inside its message: the id the message's HTML names it by (`cid:<id>`);
    # "" for a file attached to the message.
    content_id = models.CharField(max_length=NAME_MAX_LENGTH, blank=True)

    def __str__(self) -> str:
        return self.filename
