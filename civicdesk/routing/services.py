"""Classification and assignment."""

from __future__ import annotations

from dataclasses import dataclass

from civicdesk.accounts.models import User
from civicdesk.accounts.selectors import available_agents_in_rota_order
from civicdesk.accounts.services import mark_assigned
from civicdesk.routing.models import KeywordRule, Queue
from civicdesk.routing.rules import KeywordRuleSpec, first_match, parse_keywords


@dataclass(frozen=True)
class Classification:
    service_code: str
    priority: str
    rule_name: str


def _rule_spec(rule: KeywordRule) -> KeywordRuleSpec:
    return KeywordRuleSpec(
        rule_id=rule.pk,
        keywords=parse_keywords(rule.keywords),
        service_code=rule.service_code,
        order=rule.order,
        match_all=rule.match_all,
        priority=rule.priority,
    )


def classify_text(*, text: str) -> Classification | None:
    """The service (and optional priority) the first matching keyword rule names, if any."""
    rules = {rule.pk: rule for rule in KeywordRule.objects.filter(is_active=True)}
    match = first_match([_rule_spec(rule) for rule in rules.values()], text)
    if match is None:
        return None
    return Classification(
        service_code=match.service_code,
        priority=match.priority,
        rule_name=rules[match.rule_id].name,
    )


def default_queue() -> Queue | None:
    return Queue.objects.filter(is_default=True).first() or Queue.objects.order_by("id").first()


def next_agent_for(*, queue: Queue) -> User | None:
    """Round-robin: the available team member who was assigned a case longest ago.

    Marks the chosen agent as just assigned. None when nobody is available: the case waits in
    the queue and is handed out when someone becomes available.
    """
    if not queue.auto_assign:
        return None
    agent = available_agents_in_rota_order(team_id=queue.team_id).first()
    if agent is not None:
        mark_assigned(agent=agent)
    return agent
