"""The one durable write that acknowledges an inbound payload.

Storing a payload is the whole of an acknowledgement, so it is kept to one statement where the
database allows: the INSERT also allocates the payload's case reference (an SQL expression the
numbering domain registers; PostgreSQL) and returns it, under autocommit, with no transaction
around it and no lookup before it. A provider id seen before is found by the unique constraint
refusing the INSERT (IntegrityError for the caller), not by a SELECT on every contact. Where
the reference cannot be allocated in SQL (SQLite's counter row), it is allocated first, in the
same transaction as the INSERT.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from civicdesk.channels import registry
from civicdesk.channels.models import InboundPayload, PayloadStatus
from civicdesk.core.clock import now


class SupersedeRaced(Exception):
    """The failed payload to supersede changed under us (replayed, or superseded already)."""


def store_payload(
    *, fields: dict[str, Any], reserve_reference: bool, at: datetime | None
) -> InboundPayload:
    """INSERT one payload (`fields`: its columns but the reference), with a new reference when
    `reserve_reference`. Raises IntegrityError when its provider id is held already."""
    if not reserve_reference:
        return _insert(fields)
    moment = at or now()
    expression = registry.reference_expression(moment)
    if expression is not None:
        # One statement: the INSERT numbers the payload and returns the reference.
        return _insert({**fields, "reference": expression})
    with transaction.atomic():
        return InboundPayload.objects.create(
            reference=registry.allocate_reference(moment), **fields
        )


def _insert(values: dict[str, Any]) -> InboundPayload:
    if transaction.get_connection().in_atomic_block:
        # Inside the caller's transaction (a webhook's, with its replay key): a savepoint, so
        # that a refused INSERT leaves that transaction usable for finding the earlier one.
        with transaction.atomic():
            return InboundPayload.objects.create(**values)
    return InboundPayload.objects.create(**values)


def store_superseding(
    *, fields: dict[str, Any], superseding: InboundPayload, reserve_reference: bool
) -> InboundPayload:
    """A corrected resend of a payload that failed: the failed one gives up its provider id
    (kept, visible, `superseded_by` the new one) and its reference to the new one, in one
    transaction. Raises SupersedeRaced if it is no longer a failed payload holding the id."""
    with transaction.atomic():
        moment = now()
        released = InboundPayload.objects.filter(
            pk=superseding.pk, status=PayloadStatus.FAILED, superseded_at__isnull=True
        ).update(superseded_at=moment, updated_at=moment)
        if not released:
            raise SupersedeRaced
        reference = superseding.reference
        if not reference and reserve_reference:
            reference = registry.allocate_reference(moment)
        payload = InboundPayload.objects.create(reference=reference, **fields)
        InboundPayload.objects.filter(pk=superseding.pk).update(superseded_by=payload)
    return payload
