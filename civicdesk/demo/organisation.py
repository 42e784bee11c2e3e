"""Riverton's teams, queues, staff, opening hours and service-level policies.

Get-or-create throughout: a second load changes nothing, and edits made in the admin survive.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.hashers import make_password

from civicdesk.accounts.models import Role, Team, User
from civicdesk.routing.models import Queue
from civicdesk.sla.models import BusinessCalendar, SlaPolicy, SlaTarget

DEMO_PASSWORD = "riverton-demo"  # noqa: S105 - published on purpose: a demo login
STAFF_DOMAIN = "riverton.example"

# Team slug → (team name, queue name). The contact centre's queue is the default one.
TEAMS: dict[str, tuple[str, str]] = {
    "waste": ("Waste & recycling", "Waste & recycling"),
    "highways": ("Highways", "Highways"),
    "lighting": ("Street lighting", "Street lighting"),
    "environment": ("Environmental health", "Environmental health & noise"),
    "housing": ("Housing", "Housing repairs & advice"),
    "tax": ("Council tax & benefits", "Council tax & benefits"),
    "contact": ("Contact centre", "General enquiries"),
}
DEFAULT_QUEUE = "contact"


@dataclass(frozen=True)
class StaffMember:
    name: str
    role: str
    teams: tuple[str, ...]
    email: str = ""  # default: first.last@riverton.example

    @property
    def address(self) -> str:
        return self.email or f"{self.name.lower().replace(' ', '.')}@{STAFF_DOMAIN}"


ADMIN = StaffMember("Alex Morgan", Role.ADMIN, (), email=f"admin@{STAFF_DOMAIN}")
SUPERVISOR = StaffMember("Helen Carter", Role.SUPERVISOR, tuple(TEAMS))
AGENTS = (
    StaffMember("Priya Shah", Role.AGENT, ("waste",)),
    StaffMember("Tom Fletcher", Role.AGENT, ("waste",)),
    StaffMember("Gareth Owen", Role.AGENT, ("highways",)),
    StaffMember("Aisha Rahman", Role.AGENT, ("highways",)),
    StaffMember("Megan Price", Role.AGENT, ("lighting", "highways")),
    StaffMember("Daniel Okafor", Role.AGENT, ("environment",)),
    StaffMember("Hannah Doyle", Role.AGENT, ("housing",)),
    StaffMember("Marcus Reid", Role.AGENT, ("housing",)),
    StaffMember("Fiona Campbell", Role.AGENT, ("tax",)),
    StaffMember("Ioana Popescu", Role.AGENT, ("tax", "contact")),
    StaffMember("Liam Murphy", Role.AGENT, ("contact",)),
    StaffMember("Chloe Evans", Role.AGENT, ("contact",)),
)
STAFF = (ADMIN, SUPERVISOR, *AGENTS)

# The logins worth trying first: `civicdesk demo` prints them and the README lists them, in this
# order and these words (a test holds the two together). Every other agent is first.last@...
FEATURED_LOGINS: tuple[tuple[str, StaffMember], ...] = (
    ("administrator (Alex Morgan)", ADMIN),
    ("supervisor of every team (Helen Carter)", SUPERVISOR),
    ("agent, waste & recycling (Priya Shah)", AGENTS[0]),
    ("agent, highways (Gareth Owen)", AGENTS[2]),
    ("agent, council tax and contact centre (Ioana Popescu)", AGENTS[9]),
)

CALENDAR_NAME = "Riverton Civic Centre hours"
# Minutes from midnight: Monday to Thursday 08:30-17:00, Friday 08:30-16:30.
OPENING_HOURS = {
    **{str(day): [[510, 1020]] for day in range(4)},
    "4": [[510, 990]],
}
DAY = 510  # business minutes in a full opening day

# Policy → priority → (first response, resolution) in business minutes.
POLICIES: dict[str, dict[str, tuple[int, int]]] = {
    "Standard": {
        "urgent": (60, DAY),
        "high": (240, 3 * DAY),
        "normal": (DAY, 10 * DAY),
        "low": (2 * DAY, 20 * DAY),
    },
    "Highways safety": {
        "urgent": (30, 240),
        "high": (60, DAY),
        "normal": (240, 5 * DAY),
        "low": (DAY, 15 * DAY),
    },
    "Correspondence": {
        "urgent": (DAY, 5 * DAY),
        "high": (2 * DAY, 10 * DAY),
        "normal": (5 * DAY, 20 * DAY),
        "low": (10 * DAY, 30 * DAY),
    },
}
DEFAULT_POLICY = "Standard"


@dataclass(frozen=True)
class Organisation:
    queues: dict[str, Queue]  # by team slug
    policies: dict[str, SlaPolicy]
    supervisor: User
    agents: dict[str, User]  # by email


def ensure_organisation() -> Organisation:
    addresses = [member.address for member in STAFF]
    existing = User.objects.filter(email__in=addresses).count()
    # Hashed once, and only when someone is missing: the demo has one published password.
    password = make_password(DEMO_PASSWORD) if existing < len(addresses) else ""
    teams = {
        slug: Team.objects.get_or_create(slug=slug, defaults={"name": name})[0]
        for slug, (name, _queue) in TEAMS.items()
    }
    queues = {
        slug: Queue.objects.get_or_create(
            slug=slug,
            defaults={"name": queue, "team": teams[slug], "is_default": slug == DEFAULT_QUEUE},
        )[0]
        for slug, (_name, queue) in TEAMS.items()
    }
    users: dict[str, User] = {}
    for member in STAFF:
        user, created = User.objects.get_or_create(
            email=member.address,
            defaults={
                "full_name": member.name,
                "role": member.role,
                "password": password,
                "is_staff": member.role == Role.ADMIN,
                "is_superuser": member.role == Role.ADMIN,
                # The supervisor oversees the teams rather than taking cases in turn.
                "is_available": member.role == Role.AGENT,
            },
        )
        if created:
            for slug in member.teams:
                teams[slug].members.add(user)
        users[member.address] = user
    calendar, _ = BusinessCalendar.objects.get_or_create(
        name=CALENDAR_NAME,
        defaults={
            "timezone": "Europe/London",
            "hours": OPENING_HOURS,
            "holiday_country": "GB",
            "holiday_subdivision": "ENG",
        },
    )
    policies = {}
    for name, targets in POLICIES.items():
        policy, created = SlaPolicy.objects.get_or_create(
            name=name, defaults={"calendar": calendar, "is_default": name == DEFAULT_POLICY}
        )
        if created:
            SlaTarget.objects.bulk_create(
                SlaTarget(
                    policy=policy,
                    priority=priority,
                    first_response_minutes=first,
                    resolution_minutes=resolution,
                )
                for priority, (first, resolution) in targets.items()
            )
        policies[name] = policy
    return Organisation(
        queues=queues,
        policies=policies,
        supervisor=users[SUPERVISOR.address],
        agents={member.address: users[member.address] for member in AGENTS},
    )
