"""Classification and assignment: which service and queue a case belongs to, and who takes it.

`cases` asks; routing decides and returns the decision; `cases` applies it to the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from civicdesk.accounts.selectors import available_agents_in_rota_order
from civicdesk.accounts.services import mark_assigned, mark_assigned_at
from civicdesk.core.clock import now
from civicdesk.core.memo import remembered
from civicdesk.routing.kernels.rules import KeywordRuleSpec, first_match, parse_keywords
from civicdesk.routing.models import KeywordRule, Queue

if TYPE_CHECKING:
    from civicdesk.accounts.models import User
    from civicdesk.catalogue.models import Service


@dataclass(frozen=True)
class Classification:
    service_id: int
    service_code: str
    priority: str
    rule_name: str


def _rule_spec(rule: KeywordRule) -> KeywordRuleSpec:
    return KeywordRuleSpec(
        rule_id=rule.pk,
        keywords=parse_keywords(rule.keywords),
        service_code=rule.service.code if rule.service else "",
        order=rule.order,
        match_all=rule.match_all,
        priority=rule.priority,
    )


def _active_rules() -> tuple[dict[int, KeywordRule], list[KeywordRuleSpec]]:
    rules = {
        rule.pk: rule
        for rule in KeywordRule.objects.filter(is_active=True, service__isnull=False)
        .select_related("service")
        .only("keywords", "order", "match_all", "priority", "name", "service__code")
    }
    return rules, [_rule_spec(rule) for rule in rules.values()]


def classify_text(*, text: str) -> Classification | None:
    """The service (and optional priority) the first matching keyword rule names, if any.

    One query (once per worker batch, `core.memo`); rules without a service (switched off when
    codes became links) never match.
    """
    rules, specs = remembered("routing.keyword_rules", _active_rules)
    match = first_match(specs, text)
    if match is None:
        return None
    rule = rules[match.rule_id]
    assert rule.service_id is not None  # filtered above
    return Classification(
        service_id=rule.service_id,
        service_code=match.service_code,
        priority=match.priority,
        rule_name=rule.name,
    )


def default_queue() -> Queue | None:
    """The queue for cases no service claims (remembered for a worker's batch, `core.memo`)."""
    return remembered(
        "routing.default_queue",
        lambda: (
            Queue.objects.filter(is_default=True).first() or Queue.objects.order_by("id").first()
        ),
    )


def queue_for_service(*, service: Service | None) -> Queue | None:
    """The queue a new case of `service` waits in: the service's own, else the default queue."""
    queue = service.queue if service is not None and service.queue_id is not None else None
    return queue or default_queue()


def next_agent_for(*, queue: Queue) -> User | None:
    """Round-robin: the available team member who was assigned a case longest ago.

    Marks the chosen agent as just assigned. None when nobody is available: the case waits in
    the queue and is handed out when someone becomes available.

    Precondition: inside a transaction. The rota is locked until the caller commits, so two
    contacts arriving at once take turns instead of both reading the same "next agent": every
    queue's row, in id order (one statement; a transaction that holds them already takes them
    again at once). All of them rather than the team's: a transaction routing several contacts
    (a worker's batch) would otherwise take one team's lock and then another's, in whatever
    order its contacts came, and two such transactions could deadlock. SQLite has no row
    locks; its single writer (`BEGIN IMMEDIATE`) gives the same order.
    """
    if not queue.auto_assign:
        return None
    list(Queue.objects.select_for_update().order_by("id").values_list("id", flat=True))
    agent = available_agents_in_rota_order(team_id=queue.team_id).first()
    if agent is not None:
        mark_assigned(agent=agent)
    return agent


@dataclass(frozen=True)
class Route:
    queue: Queue | None
    assignee: User | None


def route_new_case(*, service: Service | None) -> Route:
    """Where a new case goes (its queue) and who takes it (None: it waits). Inside a transaction."""
    queue = queue_for_service(service=service)
    return Route(queue=queue, assignee=next_agent_for(queue=queue) if queue else None)


def route_new_cases(*, services: list[Service | None]) -> list[Route]:
    """`route_new_case` for several new cases at once, in order, as if routed one by one.

    The rota is locked once (as `next_agent_for` locks it), each team's available agents are
    read once, the turns are taken in memory (whoever was assigned longest ago; an agent in two
    teams goes to the back of both), and the agents given cases are marked in one UPDATE, a
    microsecond apart in the order they were given them. Inside a transaction.
    """
    queues = [queue_for_service(service=service) for service in services]
    teams = sorted({q.team_id for q in queues if q is not None and q.auto_assign})
    if not teams:
        return [Route(queue=queue, assignee=None) for queue in queues]
    list(Queue.objects.select_for_update().order_by("id").values_list("id", flat=True))
    rotas = {team: list(available_agents_in_rota_order(team_id=team)) for team in teams}
    # The rota order as a sortable key: never assigned first, then longest ago, then id.
    turn: dict[int, tuple[int, float, int]] = {}
    for members in rotas.values():
        for member in members:
            last = member.last_assigned_at
            turn[member.pk] = (
                (0, 0.0, member.pk) if last is None else (1, last.timestamp(), member.pk)
            )
    moment = now()
    assigned: dict[int, datetime] = {}
    routes: list[Route] = []
    for queue in queues:
        chosen: User | None = None
        if queue is not None and queue.auto_assign and rotas[queue.team_id]:
            chosen = min(rotas[queue.team_id], key=lambda a: turn[a.pk])
            given = moment + timedelta(microseconds=len(routes))
            turn[chosen.pk] = (2, given.timestamp(), chosen.pk)
            assigned[chosen.pk] = given
        routes.append(Route(queue=queue, assignee=chosen))
    mark_assigned_at(assigned=assigned)
    return routes
