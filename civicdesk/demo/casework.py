"""What happens to one historical case after it is opened, stage by stage.

Each stage moves the story's clock on and acts through the case services; a stage whose
moment has not come yet ends the story, so the newest cases are still new, open or waiting.
The services stamp their writes with the current time; `Backdater` moves each write back to
the moment in the story it belongs to.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from civicdesk.accounts.models import User
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.services import (
    add_internal_note,
    assign_case,
    change_case_status,
    record_citizen_message,
    reply_to_case,
)
from civicdesk.channels.models import DeliveryAttempt, DeliveryStatus, OutboundDelivery
from civicdesk.demo import stories

LONDON = ZoneInfo("Europe/London")
# Days of work before resolution, by priority.
WORK_DAYS = {"urgent": (0.1, 1.0), "high": (0.5, 3.0), "normal": (1.0, 10.0), "low": (2.0, 20.0)}


@dataclass
class Backdater:
    """Moves what the services just wrote (stamped "now") back to the story's time."""

    started: datetime
    deliveries: list[tuple[int, datetime]] = field(default_factory=list)
    _recorded: set[int] = field(default_factory=set)

    def events(self, case: Case, at: datetime) -> None:
        CaseEvent.objects.filter(case=case, created_at__gte=self.started).update(created_at=at)

    def delivered(self, delivery_id: int, at: datetime) -> None:
        if delivery_id not in self._recorded:
            self._recorded.add(delivery_id)
            self.deliveries.append((delivery_id, at))

    def notices(self, case: Case, at: datetime) -> None:
        """The automatic messages the services queued on the case just now (a status change
        notified): sent at the story's time, like its replies."""
        for delivery_id in OutboundDelivery.objects.filter(
            thread_reference=case.reference, is_automatic=True, created_at__gte=self.started
        ).values_list("pk", flat=True):
            self.delivered(delivery_id, at)

    def finish_deliveries(self) -> None:
        """Historical replies were delivered at the time; their queued sends become no-ops."""
        for delivery_id, at in self.deliveries:
            OutboundDelivery.objects.filter(pk=delivery_id).update(
                status=DeliveryStatus.SENT,
                attempts=1,
                sent_at=at,
                created_at=at,
                updated_at=at,
                provider_message_id=f"demo-{delivery_id}",
            )
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                delivery_id=delivery_id,
                attempted_at=at,
                outcome=DeliveryStatus.SENT,
                provider_message_id=f"demo-{delivery_id}",
            )
            for delivery_id, at in self.deliveries
        )


def office_time(moment: datetime, rng: random.Random) -> datetime:
    """The same moment, or early on the next opening morning when the office is closed."""
    local = moment.astimezone(LONDON)
    opening = local.replace(hour=8, minute=30, second=0, microsecond=0)
    if local.weekday() < 5 and opening <= local <= local.replace(hour=17, minute=0):
        return moment
    day = local.date() + timedelta(days=0 if local < opening else 1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(8, 30), LONDON) + timedelta(minutes=rng.uniform(0, 150))


@dataclass
class CaseWork:
    case: Case
    citizen_name: str
    by_note: bool  # no adapter for the case's channel: staff record calls and letters as notes
    agent: User
    supervisor: User
    team: list[User]
    rng: random.Random
    backdater: Backdater
    cutoff: datetime
    at: datetime
    last_activity: datetime = field(init=False)
    first_response: datetime | None = None
    resolved: datetime | None = None

    def __post_init__(self) -> None:
        self.opened = self.at
        self.last_activity = self.at

    def play(self) -> None:
        stages: tuple[Callable[[], bool], ...] = (
            self._maybe_reassign,
            self._acknowledge,
            self._maybe_ask,
            self._maybe_note,
            self._resolve,
            self._maybe_reopen,
            self._close,
        )
        for stage in stages:
            if not stage():
                break
        Case.objects.filter(pk=self.case.pk).update(
            created_at=self.opened,
            updated_at=self.at,
            last_activity_at=self.last_activity,
            first_responded_at=self.first_response,
            resolved_at=self.resolved,
        )

    # --- the clock ----------------------------------------------------------------------

    def _advance(
        self, hours: tuple[float, float], *, office: bool = True, public: bool = True
    ) -> bool:
        """Move the clock on; False when that moment is still to come (the story ends)."""
        moment = self.at + timedelta(hours=self.rng.uniform(*hours))
        if office:
            moment = office_time(moment, self.rng)
        if moment >= self.cutoff:
            return False
        self.at = moment
        if public:
            self.last_activity = moment
        return True

    def _stamp(self) -> None:
        self.backdater.events(self.case, self.at)
        self.backdater.notices(self.case, self.at)

    # --- stages: each returns whether the story goes on ---------------------------------

    def _maybe_reassign(self) -> bool:
        colleagues = [u for u in self.team if u != self.agent]
        if self.rng.random() >= 0.06 or not colleagues:
            return True
        if not self._advance((0.1, 2), public=False):
            return False
        self.agent = self.rng.choice(colleagues)
        assign_case(case=self.case, assignee=self.agent, by=self.supervisor)
        self._stamp()
        return True

    def _acknowledge(self) -> bool:
        if not self._advance((0.3, 20)):
            return False
        if self.by_note:
            template = stories.FIRST_CONTACT_NOTES[self.case.channel]
            self._note(template.format(name=self.citizen_name))
            change_case_status(case=self.case, status="open", by=self.agent)
        else:
            self._reply(self.rng.choice(stories.ACKNOWLEDGEMENTS))
        self.first_response = self.at
        self._stamp()
        return True

    def _maybe_ask(self) -> bool:
        if self.by_note or self.rng.random() >= 0.18:
            return True
        if not self._advance((1, 24)):
            return False
        self._reply(self.rng.choice(stories.QUESTIONS))
        change_case_status(case=self.case, status="waiting", by=self.agent)
        self._stamp()
        if self.rng.random() < 0.25:
            # No answer: after a fortnight or so the case is closed.
            if self._advance((14 * 24, 21 * 24)):
                self._note(stories.NO_ANSWER_NOTE)
                change_case_status(case=self.case, status="closed", by=self.agent)
                self._stamp()
            return False
        if not self._advance((2, 60), office=False):
            return False  # still waiting for the citizen
        self._citizen_writes(self.rng.choice(stories.FOLLOW_UPS))
        return True

    def _maybe_note(self) -> bool:
        if self.rng.random() >= 0.45:
            return True
        if not self._advance((1, 30), public=False):
            return False
        self._note(self.rng.choice(stories.NOTES).format(number=self.rng.randint(10000, 99999)))
        self._stamp()
        return True

    def _resolve(self) -> bool:
        if not self.by_note and self.rng.random() < 0.03:
            return False  # a stale case nobody has finished (old ways of contact all are)
        low, high = WORK_DAYS.get(self.case.priority, WORK_DAYS["normal"])
        if not self._advance((low * 24, high * 24)):
            return False
        if self.by_note:
            self._note(stories.OUTCOME_NOTES[self.case.channel].format(name=self.citizen_name))
        else:
            code = self.case.service.code if self.case.service else ""
            resolution = stories.RESOLUTIONS.get(code, stories.DEFAULT_RESOLUTION)
            self._reply(resolution.format(day=self.at.astimezone(LONDON).strftime("%A")))
        change_case_status(case=self.case, status="resolved", by=self.agent)
        self.resolved = self.at
        self._stamp()
        return True

    def _maybe_reopen(self) -> bool:
        if self.by_note or self.rng.random() >= 0.06:
            return True
        if not self._advance((4, 72), office=False):
            return False
        self._citizen_writes(self.rng.choice(stories.REOPENINGS))
        return self._resolve()

    def _close(self) -> bool:
        if not self._advance((5 * 24, 10 * 24)):
            return False
        closer = self.supervisor if self.rng.random() < 0.3 else self.agent
        change_case_status(case=self.case, status="closed", by=closer)
        self._stamp()
        return True

    # --- actions ------------------------------------------------------------------------

    def _note(self, body: str) -> None:
        add_internal_note(case=self.case, author=self.agent, body=body)

    def _reply(self, body: str) -> None:
        sent = reply_to_case(case=self.case, author=self.agent, body=body)
        if sent.entry.delivery_id:
            self.backdater.delivered(sent.entry.delivery_id, self.at)
        self._stamp()

    def _citizen_writes(self, body: str) -> None:
        record_citizen_message(
            case=self.case,
            body=body,
            channel=self.case.channel,
            author_label=self.citizen_name,
            at=self.at,
        )
        self.resolved = None
