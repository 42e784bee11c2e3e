"""Factories for tests, and a small fixed city hall to run journeys against."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import factory

from civicdesk.accounts.models import Role, Team, User
from civicdesk.catalogue.models import AttributeDatatype, Service, ServiceAttribute, ServiceGroup
from civicdesk.channels.contracts import RawPayload
from civicdesk.citizens.models import Citizen, ContactPoint
from civicdesk.core.tokens import digest
from civicdesk.routing.models import KeywordRule, Queue
from civicdesk.sla.models import BusinessCalendar, SlaPolicy, SlaTarget

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"agent{n}@riverton.example")
    full_name = factory.Sequence(lambda n: f"Agent {n}")
    role = Role.AGENT

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class CitizenFactory(factory.django.DjangoModelFactory[Citizen]):
    class Meta:
        model = Citizen

    full_name = factory.Sequence(lambda n: f"Citizen {n}")


class ContactPointFactory(factory.django.DjangoModelFactory[ContactPoint]):
    class Meta:
        model = ContactPoint

    citizen = factory.SubFactory(CitizenFactory)
    kind = "email"
    value = factory.Sequence(lambda n: f"person{n}@mail.example")


@dataclass
class Riverton:
    waste_team: Team
    roads_team: Team
    ann: User  # waste agent
    bob: User  # waste agent
    cara: User  # roads agent
    supervisor: User
    admin: User
    waste_queue: Queue
    roads_queue: Queue
    general_queue: Queue
    missed_bin: Service
    pothole: Service
    noise: Service
    calendar: BusinessCalendar
    policy: SlaPolicy


def build_riverton() -> Riverton:
    waste = Team.objects.create(name="Waste services", slug="waste")
    roads = Team.objects.create(name="Highways", slug="roads")
    contact = Team.objects.create(name="Contact centre", slug="contact")
    ann = UserFactory.create(email="ann@riverton.example", full_name="Ann Abbott")
    bob = UserFactory.create(email="bob@riverton.example", full_name="Bob Brown")
    cara = UserFactory.create(email="cara@riverton.example", full_name="Cara Cole")
    supervisor = UserFactory.create(
        email="sam@riverton.example", full_name="Sam Supervisor", role=Role.SUPERVISOR
    )
    admin = UserFactory.create(
        email="admin@riverton.example",
        full_name="Ada Admin",
        role=Role.ADMIN,
        is_staff=True,
        is_superuser=True,
    )
    waste.members.add(ann, bob, supervisor)
    roads.members.add(cara, supervisor)
    contact.members.add(ann, bob, cara)
    waste_queue = Queue.objects.create(name="Waste", slug="waste", team=waste)
    roads_queue = Queue.objects.create(name="Roads", slug="roads", team=roads)
    general_queue = Queue.objects.create(
        name="General enquiries", slug="general", team=contact, is_default=True
    )
    calendar = BusinessCalendar.objects.create(
        name="Town hall hours",
        timezone="Europe/London",
        holiday_country="GB",
        holiday_subdivision="ENG",
    )
    policy = SlaPolicy.objects.create(name="Standard", calendar=calendar, is_default=True)
    for priority, first, resolution in (
        ("urgent", 60, 480),
        ("high", 120, 960),
        ("normal", 480, 2400),
        ("low", 960, 4800),
    ):
        SlaTarget.objects.create(
            policy=policy,
            priority=priority,
            first_response_minutes=first,
            resolution_minutes=resolution,
        )
    environment = ServiceGroup.objects.create(
        name="Bins and recycling", order=1, translations={"ro": {"name": "Gunoi și reciclare"}}
    )
    streets = ServiceGroup.objects.create(
        name="Roads and streets", order=2, translations={"ro": {"name": "Drumuri și străzi"}}
    )
    community = ServiceGroup.objects.create(name="Community", order=3)
    missed_bin = Service.objects.create(
        code="missed-bin",
        name="Missed bin collection",
        group=environment,
        queue=waste_queue,
        description="Your bin was not emptied on collection day.",
        translations={
            "ro": {"name": "Colectare ratată", "description": "Pubela nu a fost golită."}
        },
    )
    ServiceAttribute.objects.create(
        service=missed_bin,
        code="bin_type",
        datatype=AttributeDatatype.SINGLE_VALUE_LIST,
        required=True,
        description="Which bin was missed?",
        order=1,
        values=[
            {"key": "general", "name": "General waste"},
            {"key": "recycling", "name": "Recycling"},
            {"key": "garden", "name": "Garden waste"},
        ],
    )
    ServiceAttribute.objects.create(
        service=missed_bin,
        code="address",
        datatype=AttributeDatatype.STRING,
        required=True,
        description="Address of the collection",
        order=2,
    )
    pothole = Service.objects.create(
        code="pothole",
        name="Pothole",
        group=streets,
        queue=roads_queue,
        description="A hole in the road or pavement.",
        default_priority="normal",
    )
    ServiceAttribute.objects.create(
        service=pothole,
        code="location",
        datatype=AttributeDatatype.STRING,
        required=True,
        description="Where is the pothole?",
        order=1,
    )
    ServiceAttribute.objects.create(
        service=pothole,
        code="depth_cm",
        datatype=AttributeDatatype.NUMBER,
        required=False,
        description="Roughly how deep is it (cm)?",
        order=2,
        minimum=0,
        maximum=500,
    )
    noise = Service.objects.create(
        code="noise",
        name="Noise complaint",
        group=community,
        queue=general_queue,
        description="Loud music, parties, barking dogs.",
    )
    KeywordRule.objects.create(
        name="Potholes", keywords="pothole\nhole in the road", service=pothole, order=10
    )
    KeywordRule.objects.create(
        name="Bins", keywords="bin, rubbish, collection", service=missed_bin, order=20
    )
    return Riverton(
        waste_team=waste,
        roads_team=roads,
        ann=ann,
        bob=bob,
        cara=cara,
        supervisor=supervisor,
        admin=admin,
        waste_queue=waste_queue,
        roads_queue=roads_queue,
        general_queue=general_queue,
        missed_bin=missed_bin,
        pothole=pothole,
        noise=noise,
        calendar=calendar,
        policy=policy,
    )


def portal_payload(**fields: Any) -> RawPayload:
    """A portal request payload as the portal views write it."""
    data: dict[str, Any] = {
        "submission_id": uuid.uuid4().hex,
        "status_token_digest": digest(uuid.uuid4().hex),
        "service_code": "missed-bin",
        "answers": {"bin_type": "general", "address": "1 River Street"},
        "name": "Jo Citizen",
        "email": "jo@mail.example",
        "description": "My bin was not collected this morning.",
        "language": "en",
    }
    data.update(fields)
    return RawPayload(body=json.dumps(data).encode())


def console_payload(**fields: Any) -> RawPayload:
    data: dict[str, Any] = {"from": "jo@mail.example", "text": "Hello", "id": uuid.uuid4().hex}
    data.update(fields)
    return RawPayload(body=json.dumps(data).encode())
