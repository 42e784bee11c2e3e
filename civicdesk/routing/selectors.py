"""Reads on queues."""

from __future__ import annotations

from django.db.models import QuerySet

from civicdesk.routing.models import Queue


def all_queues() -> QuerySet[Queue]:
    """Every queue, by name: for filters and for moving a case."""
    return Queue.objects.order_by("name")
