from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from civicdesk.core.limits import EMAIL_MAX_LENGTH
from civicdesk.core.models import TimeStampedModel


class ChannelAccount(TimeStampedModel):
    """One configured presence on a channel (a mailbox, a phone number, a page) with its secrets."""

    kind = models.CharField(max_length=30)
    name = models.CharField(max_length=120)
    # Names the account in its webhook URL (/hooks/<kind>/<uuid>/): unguessable, stable.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The adapter schema's plain (non-secret) settings.
    config = models.JSONField(default=dict, blank=True)
    # The schema's secret fields, as one Fernet token (see channels.secrets); never shown.
    secrets_encrypted = models.TextField(blank=True, editable=False)
    is_active = models.BooleanField(default=True)
    # Webhooks refused for a forged or replayed signature (nothing of them is stored).
    rejected_webhooks = models.PositiveIntegerField(default=0, editable=False)
    last_rejected_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_rejected_reason = models.CharField(max_length=255, blank=True, editable=False)
    # Polled channels: where the next poll resumes, and how the last one went.
    poll_cursor = models.TextField(blank=True, editable=False)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_poll_error = models.TextField(blank=True, editable=False)
    # How far the latest poll came (contracts.PollProgress as JSON, with `at` and `done`): a
    # mailbox caught up in batches shows here how much was imported and how much still waits.
    poll_progress = models.JSONField(default=dict, blank=True, editable=False)
    # One poller at a time per account (the scheduler's job, `civicdesk email poll`): who
    # polls holds the account until then, renewing at every checkpoint (channels.polling).
    poll_lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="channel_account_name")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}"


class PayloadStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSING = "processing", _("Processing")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")
    # Over the per-sender rate limit: held, replayable, released by the sweep later.
    THROTTLED = "throttled", _("Throttled")
    # From one of the account's own identities (our own message echoed back): never processed.
    IGNORED = "ignored", _("Ignored")


class InboundPayload(TimeStampedModel):
    """Exactly what a channel delivered, stored before anything else happens to it."""

    channel = models.CharField(max_length=30, db_index=True)
    account = models.ForeignKey(ChannelAccount, null=True, blank=True, on_delete=models.SET_NULL)
    # Indexed alone too (with a pattern index on PostgreSQL): email replies find the earlier
    # message they answer by the start of its provider id (channels.selectors.thread_of_reply).
    provider_message_id = models.CharField(max_length=255, null=True, blank=True, db_index=True)
    content_type = models.CharField(max_length=120, default="application/json")
    headers = models.JSONField(default=dict, blank=True)
    # The bytes exactly as they arrived, whatever their encoding.
    body = models.BinaryField()
    status = models.CharField(
        max_length=20, choices=PayloadStatus.choices, default=PayloadStatus.RECEIVED, db_index=True
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    result_reference = models.CharField(max_length=40, blank=True)
    # The sender's first contact value ("kind:value"), for the per-sender rate limit.
    sender_identity = models.CharField(max_length=300, blank=True, db_index=True)
    # When a throttled payload may be released (its sender's window has passed).
    held_until = models.DateTimeField(null=True, blank=True)
    # The reference the sender was given on acknowledgement, before any case existed (portal
    # and API); the case opened for it takes this reference.
    # A database default, so that an INSERT that leaves it out returns it (see
    # channels.payload_store, where the acknowledging INSERT may allocate it in SQL).
    reference = models.CharField(max_length=40, blank=True, db_index=True, db_default="")
    # The digest of the private status link the sender was given, so that the status page
    # can say "received, not yet routed" before the case exists.
    token_digest = models.CharField(max_length=64, blank=True, db_index=True)
    # Who numbers this payload's provider id, when it is not the account: the API token
    # ("token:12"), so that two integrations' `external_id`s never collide. "" otherwise.
    scope = models.CharField(max_length=40, blank=True, default="")
    # sha256 of the body's canonical JSON (keys sorted, no spaces) or of its bytes: the same
    # idempotency key with another body is a conflict, not a repeat.
    body_digest = models.CharField(max_length=64, blank=True, default="")
    # A failed payload replaced by a corrected resend under the same provider id: kept, to be
    # seen, but out of the unique constraint and never processed again.
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )
    # The claim of the worker processing it (see channels.ingest): who, and until when. A
    # claim whose lease has expired (its worker died) is taken over by the next worker.
    claimed_by = models.CharField(max_length=120, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # After a temporary fault: not to be tried again before this (a short backoff).
    not_before = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The workers' claim: the waiting payloads, oldest first.
            models.Index(
                fields=["status", "id"],
                condition=Q(status__in=["received", "processing"]),
                name="inbound_payload_waiting",
            ),
            # The per-sender rate limit (channels.guards): a sender's payloads in the window.
            # Without it SQLite, which keeps no statistics, chose the index on `channel` and
            # read every payload of the channel for each message that arrived.
            models.Index(
                fields=["channel", "sender_identity", "created_at"],
                name="inbound_payload_sender_recent",
            ),
        ]
        # Providers number messages per bot, page or number, so a provider id is unique per
        # account; payloads without an account (portal, API, console) are unique per channel
        # and scope (the API token). A superseded payload no longer holds its id.
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "account", "provider_message_id"],
                condition=Q(
                    provider_message_id__isnull=False,
                    account__isnull=False,
                    superseded_at__isnull=True,
                ),
                name="inbound_payload_provider_id_per_account",
            ),
            models.UniqueConstraint(
                fields=["channel", "scope", "provider_message_id"],
                condition=Q(
                    provider_message_id__isnull=False,
                    account__isnull=True,
                    superseded_at__isnull=True,
                ),
                name="inbound_payload_provider_id_per_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} payload #{self.pk} ({self.status})"

    @property
    def body_text(self) -> str:
        """The body for people to read; bytes that are not UTF-8 show as replacement marks."""
        return bytes(self.body).decode("utf-8", errors="replace")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    RETRYING = "retrying", _("Retrying")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Not sent on purpose (loop protection: too many automatic messages to one recipient).
    SUPPRESSED = "suppressed", _("Suppressed")


class OutboundDelivery(TimeStampedModel):
    """A message on its way to a citizen through one channel, with every try recorded."""

    channel = models.CharField(max_length=30)
    account = models.ForeignKey(ChannelAccount, null=True, blank=True, on_delete=models.SET_NULL)
    recipient = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    thread_reference = models.CharField(max_length=40, blank=True)
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Indexed: receipts name deliveries by it, and an email reply names our message by it
    # (its Message-ID) or by its start (the reply token).
    provider_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The provider's latest word (a contracts.ReceiptState value); only ever moves forward.
    provider_state = models.CharField(max_length=20, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    recipient_kind = models.CharField(max_length=30, blank=True)
    # Loop protection: an automatic message (acknowledgement, notification) is capped.
    is_automatic = models.BooleanField(default=False)
    # Others the message is copied to (an email's Cc), as addresses.
    copy_to = models.JSONField(default=list, blank=True)
    # Files sent with the message: [{storage_name, filename, content_type}] (AttachmentRef).
    attachments = models.JSONField(default=list, blank=True)
    # The routes still to try if this one fails or its reply window is closed (DeliveryRoute
    # as JSON), and every route this chain has already tried (so it never revisits one).
    fallbacks = models.JSONField(default=list, blank=True)
    tried_routes = models.JSONField(default=list, blank=True)
    # When the citizen last wrote on this route (for channels with a reply window).
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # The sending lease (channels.sending_lease): who holds the send, and until when.
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["recipient", "is_automatic", "created_at"], name="delivery_auto"),
            # A receipt (a bounce, in the listener's acknowledgement) finds its delivery by the
            # account and the provider id: without this, SQLite (no statistics) read every
            # delivery of the account through the account's index, 4 ms at 3,000 deliveries.
            models.Index(fields=["account", "provider_message_id"], name="delivery_receipt_match"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} delivery #{self.pk} ({self.status})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(OutboundDelivery, on_delete=models.CASCADE, related_name="tries")
    attempted_at = models.DateTimeField()
    outcome = models.CharField(max_length=30)
    provider_message_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.outcome}"


class DeliveryFallback(models.Model):
    """One step of a fallback chain: `from_delivery` could not reach the citizen, so
    `to_delivery` was queued on the next route (None: the chain was exhausted)."""

    from_delivery = models.OneToOneField(
        OutboundDelivery, on_delete=models.CASCADE, related_name="fallback"
    )
    to_delivery = models.OneToOneField(
        OutboundDelivery,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fallback_of",
    )
    reason = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_delivery_id} → {self.to_delivery_id}: {self.reason[:40]}"


class SeenWebhook(models.Model):
    """The replay key (signature or nonce) of a webhook accepted recently, per account; kept for
    the tolerance window so that the same signed request is refused a second time."""

    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE)
    digest = models.CharField(max_length=64)
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "digest"], name="seen_webhook_once")
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.digest[:12]}"


class ReceiptRecord(models.Model):
    """One delivery receipt as the provider sent it, kept whether or not it moved anything."""

    delivery = models.ForeignKey(
        OutboundDelivery, null=True, blank=True, on_delete=models.CASCADE, related_name="receipts"
    )
    channel = models.CharField(max_length=30)
    # The account whose signed webhook carried the receipt: it may only touch that account's
    # deliveries (provider ids are numbered per bot, page or number, not per channel kind).
    account = models.ForeignKey(ChannelAccount, null=True, blank=True, on_delete=models.SET_NULL)
    provider_message_id = models.CharField(max_length=255, db_index=True)
    state = models.CharField(max_length=20)
    at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    permanent = models.BooleanField(default=True)
    # A hard bounce: the address itself cannot be reached (contracts.DeliveryReceipt).
    recipient_unreachable = models.BooleanField(default=False)
    # The address the receipt is about when the message went to several ("": the delivery's).
    recipient = models.CharField(max_length=EMAIL_MAX_LENGTH, blank=True, default="")
    applied = models.BooleanField(default=False)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["received_at", "id"]

    def __str__(self) -> str:
        return f"{self.channel} {self.provider_message_id}: {self.state}"
