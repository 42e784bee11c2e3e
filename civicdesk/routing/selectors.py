"""Reads on queues, and the order of the waiting queue."""

from __future__ import annotations

from django.db.models import F, OrderBy, QuerySet

from civicdesk.routing.models import Queue


def all_queues() -> QuerySet[Queue]:
    """Every queue, by name: for filters and for moving a case."""
    return Queue.objects.order_by("name")


def waiting_order() -> tuple[OrderBy, str]:
    """The order in which waiting cases are handed out: soonest due first, then oldest.

    For `order_by(*waiting_order())` on cases: routing decides the order, `cases` owns the rows.
    Cases without a due time go last.
    """
    return (F("sla_due_at").asc(nulls_last=True), "created_at")


def waits_for_assignment_filter(*, agent_id: int) -> dict[str, object]:
    """Which cases wait for someone in `agent_id`'s teams: unassigned, in an auto-assigning queue.

    Lookups for a filter on cases (relative to the case: `queue__…`, `assignee…`); the caller
    still excludes finished cases, whose statuses are its own.
    """
    return {"assignee__isnull": True, "queue__team__members": agent_id, "queue__auto_assign": True}


def queue_by_id(*, queue_id: int) -> Queue | None:
    """The queue with this id, None if it was deleted (one query)."""
    return Queue.objects.filter(pk=queue_id).first()


def team_queue_ids(*, user_id: int) -> QuerySet[Queue, int]:
    """The queues of the user's teams, as a subquery: no join that repeats cases per member."""
    return Queue.objects.filter(team__members__id=user_id).values_list("id", flat=True)
