"""Setting a delivery's next try going: a send that failed for now, or a soft bounce.

Shared by sending (channels.delivery) and receipts (channels.receipts), which may not import
each other both ways.
"""

from __future__ import annotations

from django.db import transaction

from civicdesk.channels.models import OutboundDelivery


def schedule_retry(delivery: OutboundDelivery) -> None:
    """Enqueue the delivery's next try for `next_attempt_at`, after the current transaction
    commits. A task backend that cannot defer (the immediate one, in tests) leaves the retry
    to `retry_due_deliveries`, which the sweep calls."""
    from civicdesk.channels.tasks import deliver

    if deliver.get_backend().supports_defer:
        run_after = delivery.next_attempt_at
        transaction.on_commit(
            lambda: deliver.using(run_after=run_after).enqueue(delivery_id=delivery.pk),
            robust=True,
        )
