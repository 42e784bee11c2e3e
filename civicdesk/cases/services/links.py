"""Links between cases: a new case that follows up an earlier, closed one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from civicdesk.cases.events import CaseFollowedUp, FollowUpOpened
from civicdesk.cases.services.timeline import add_entry, announce, case_state

if TYPE_CHECKING:
    from datetime import datetime

    from civicdesk.cases.models import Case


def link_follow_up(*, case: Case, follows: Case, at: datetime) -> None:
    """Record `case` (just opened) as the follow-up of `follows` (closed): on the case, and on
    both timelines. The earlier case's own state is left as it is (it stays closed); its open
    pages hear of the new link. Two INSERTs and one UPDATE."""
    case.follows = follows
    case.save(update_fields=["follows", "updated_at"])
    add_entry(case=case, event=FollowUpOpened(**case_state(case), follows=follows.reference), at=at)
    earlier = CaseFollowedUp(**case_state(follows), follow_up=case.reference)
    add_entry(case=follows, event=earlier, at=at)
    announce(earlier)
