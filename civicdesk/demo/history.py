"""~300 historical cases over the last 120 days, opened through the case services.

Who writes (150 residents, some often, by several channels), when (weekdays and office hours
busiest), by which channel and about what; `casework` plays what happened next. Call inside a
transaction.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from civicdesk.accounts.models import User
from civicdesk.cases.models import Case
from civicdesk.cases.services import open_case, record_citizen_message
from civicdesk.catalogue.models import Service
from civicdesk.catalogue.services import clean_answers
from civicdesk.citizens.models import Citizen, ContactPoint
from civicdesk.citizens.services import ContactInput, identify_citizen
from civicdesk.demo import people, stories
from civicdesk.demo.answers import answers_for
from civicdesk.demo.casework import LONDON, Backdater, CaseWork, office_time
from civicdesk.demo.organisation import Organisation
from civicdesk.routing.services import classify_text

CASES = 300
RESIDENTS = 150
DAYS = 120
# Channels with an adapter, and the older ways people reached the council: those are recorded
# as the origin of older cases only, which are all finished.
LIVE_CHANNELS = {"portal": 60, "api": 15, "console": 25}
HISTORICAL_CHANNELS = {"phone": 45, "email": 25, "counter": 10, "letter": 8}
HISTORICAL_UNTIL_DAYS = 35
OFFICE_HOURS_CHANNELS = ("phone", "counter", "letter")
# Arrivals thin out into the past (ago = DAYS * u ** 1.3): about 6 a day lately, 2 at the start.
RECENCY = 1.3
FREE_TEXT_CHANNELS = ("console", "email")
# fmt: off
SERVICE_WEIGHTS = {
    "missed-bin": 30, "pothole": 22, "street-light": 18, "noise": 16, "fly-tipping": 14,
    "housing-repair": 12, "local-tax-question": 12, "bulky-waste": 10, "graffiti": 6,
    "street-cleaning": 6, "blocked-drain": 6, "damp-mould": 6, "bin-request": 6, "parking": 6,
    "abandoned-vehicle": 5, "pests": 5, "tree": 5, "pavement": 5, "no-heating": 4,
    "tax-discount": 4, "benefits": 4, "dead-animal": 3, "general-enquiry": 4, "feedback": 3,
    "overgrown": 3, "dog-fouling": 3, "traffic-signal": 3, "lights-out": 2, "road-sign": 2,
    "food-hygiene": 2, "smoke-odour": 2, "moving-home": 3, "garden-waste": 2, "gritting": 1,
    "homelessness": 2,
}
# fmt: on


class HistoryMaker:
    def __init__(
        self, *, org: Organisation, services: dict[str, Service], rng: random.Random, now: datetime
    ) -> None:
        self.org = org
        self.services = services
        self.rng = rng
        self.now = now
        self.backdater = Backdater(started=now)
        self.citizens: dict[str, Citizen] = {}
        self.first_contact: dict[str, datetime] = {}
        self.teams: dict[int, list[User]] = {}

    def arrival(self) -> datetime:
        """A moment in the last DAYS days; weekdays and office hours are busiest."""
        while True:
            ago = timedelta(days=DAYS * self.rng.random() ** RECENCY)
            day = (self.now - ago).astimezone(LONDON).date()
            if day.weekday() >= 5 and self.rng.random() < 0.75:
                continue
            office = self.rng.random() < 0.8
            minutes = self.rng.uniform(510, 1050) if office else self.rng.uniform(360, 1410)
            moment = datetime.combine(day, time(), LONDON) + timedelta(minutes=minutes)
            if moment < self.now - timedelta(minutes=20):
                return moment

    def _channel(self, resident: people.Resident, arrival: datetime) -> str:
        every = {**LIVE_CHANNELS, **HISTORICAL_CHANNELS}
        channel = resident.channel
        if self.rng.random() >= 0.7:
            channel = self.rng.choices(list(every), list(every.values()))[0]
        # The margin keeps the later move into office hours (up to a long weekend) from
        # carrying an old-way contact across the line.
        if channel in HISTORICAL_CHANNELS and arrival > self.now - timedelta(
            days=HISTORICAL_UNTIL_DAYS + 4
        ):
            channel = self.rng.choices(list(LIVE_CHANNELS), list(LIVE_CHANNELS.values()))[0]
        return channel

    def _citizen(self, resident: people.Resident, channel: str, arrival: datetime) -> Citizen:
        citizen = self.citizens.get(resident.email)
        if citizen is None:
            contacts = [ContactInput(kind="email", value=resident.email)]
            if resident.phone:
                contacts.append(ContactInput(kind="phone", value=resident.phone))
            citizen = identify_citizen(
                contacts=contacts,
                full_name=resident.name,
                language=resident.language,
                channel=channel,
            )
            self.citizens[resident.email] = citizen
            self.first_contact[resident.email] = arrival
        return citizen

    def _text(self, template: str, place: people.Place) -> str:
        day = self.rng.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"])
        return template.format(
            location=place.location, address=place.address, street=place.street, day=day
        )

    def _request(
        self, resident: people.Resident, channel: str, place: people.Place
    ) -> tuple[str, Service | None, str]:
        """What the resident writes, the service it is filed under, and by which rule."""
        if channel in FREE_TEXT_CHANNELS and self.rng.random() < 0.12:
            return self._text(self.rng.choice(stories.UNCLASSIFIED), place), None, ""
        code = self.rng.choices(list(SERVICE_WEIGHTS), list(SERVICE_WEIGHTS.values()))[0]
        templates = stories.MESSAGES[code]
        if resident.language == "ro" and code in stories.ROMANIAN_MESSAGES:
            templates = stories.ROMANIAN_MESSAGES[code]
        body = self._text(self.rng.choice(templates), place)
        if channel in FREE_TEXT_CHANNELS:
            match = classify_text(text=body)
            if match is not None and match.service_code in self.services:
                return body, self.services[match.service_code], f"rule: {match.rule_name}"
        return body, self.services[code], ""

    def make_case(self, resident: people.Resident, arrival: datetime) -> Case:
        channel = self._channel(resident, arrival)
        if channel in OFFICE_HOURS_CHANNELS:
            arrival = office_time(arrival, self.rng)  # old enough never to reach the future
        citizen = self._citizen(resident, channel, arrival)
        place = people.place(self.rng)
        body, service, classified_by = self._request(resident, channel, place)
        answers: dict[str, object] = {}
        if channel in FREE_TEXT_CHANNELS or service is None:
            subject = body.splitlines()[0][:80]
        else:
            subject = f"{service.name} - {place.street}"
            raw = answers_for(service, place, arrival, self.rng)
            answers = clean_answers(service=service, answers=raw)
        case = open_case(
            citizen=citizen,
            channel=channel,
            subject=subject,
            service=service,
            answers=answers,
            opened_at=arrival,
            classified_by=classified_by,
        )
        record_citizen_message(
            case=case, body=body, channel=channel, author_label=resident.name, at=arrival
        )
        team = self._team(case)
        CaseWork(
            case=case,
            citizen_name=resident.name,
            by_note=channel in HISTORICAL_CHANNELS,
            agent=case.assignee or (team[0] if team else self.org.supervisor),
            supervisor=self.org.supervisor,
            team=team,
            rng=self.rng,
            backdater=self.backdater,
            cutoff=self.now - timedelta(minutes=5),
            at=arrival,
        ).play()
        return case

    def _team(self, case: Case) -> list[User]:
        """The agents of the case's queue (looked up once per queue)."""
        if case.queue_id is None:
            return []
        if case.queue_id not in self.teams:
            members = User.objects.filter(teams__queues=case.queue_id, email__in=self.org.agents)
            self.teams[case.queue_id] = list(members.order_by("id"))
        return self.teams[case.queue_id]

    def finish(self) -> None:
        for email, first in self.first_contact.items():
            citizen = self.citizens[email]
            Citizen.objects.filter(pk=citizen.pk).update(created_at=first, updated_at=first)
            ContactPoint.objects.filter(citizen=citizen).update(created_at=first, updated_at=first)
        self.backdater.finish_deliveries()


def load_history(
    *, org: Organisation, services: dict[str, Service], rng: random.Random, now: datetime
) -> int:
    """Create the historical cases, oldest first; returns how many."""
    maker = HistoryMaker(org=org, services=services, rng=rng, now=now)
    residents = people.residents(
        rng, count=RESIDENTS, channels={**LIVE_CHANNELS, **HISTORICAL_CHANNELS}
    )
    # Everyone gets in touch at least once; some come back often.
    askers = residents + rng.choices(residents, [r.weight for r in residents], k=CASES - RESIDENTS)
    rng.shuffle(askers)
    arrivals = sorted(maker.arrival() for _ in range(CASES))
    for resident, arrival in zip(askers, arrivals, strict=True):
        maker.make_case(resident, arrival)
    maker.finish()
    return CASES
