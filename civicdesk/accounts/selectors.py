"""Reads on staff and teams."""

from __future__ import annotations

from django.db.models import F, QuerySet

from civicdesk.accounts.models import Role, User


def available_agents_in_rota_order(*, team_id: int) -> QuerySet[User]:
    """Available, active agents of a team; whoever was assigned longest ago comes first.

    Supervisors and administrators take cases by hand, never from the rota.
    """
    return User.objects.filter(
        teams__id=team_id, is_active=True, is_available=True, role=Role.AGENT
    ).order_by(F("last_assigned_at").asc(nulls_first=True), "id")


def staff_for_assignment() -> QuerySet[User]:
    return User.objects.filter(is_active=True).exclude(role=Role.ADMIN).order_by("full_name")


def supervisor_ids_of_teams(*, team_ids: list[int]) -> list[int]:
    """Ids of the active supervisors of the given teams, each once (one query).

    Escalations notify them live on their own user group.
    """
    return list(
        User.objects.filter(teams__id__in=team_ids, is_active=True, role=Role.SUPERVISOR)
        .order_by("id")
        .values_list("id", flat=True)
        .distinct()
    )
