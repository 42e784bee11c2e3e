"""Agent inbox on 100,000 cases: server time of one page against the raw SQL of the same page.

    .venv/bin/python benchmarks/inbox.py [--cases 100000] [--repeat 30]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/inbox.py

For each inbox view the script times `inbox_page()` with its rows and related objects read and
its count taken, then replays the exact statements the ORM sent (captured with
`connection.execute_wrapper`) through a bare cursor. The ratio is the cost of the ORM and the
selector on top of the database's own work; the target is at most 10x. It also counts the SQL
statements per page for 10, 25 and 100 rows, which must not grow with the page size.
"""

from __future__ import annotations

import argparse
import random
import secrets
import time
from datetime import timedelta
from typing import Any

from harness import explicit_timestamps, load_note, machine_label, median_ms, prepared_django

VIEWS = ("mine", "team", "unassigned", "all")
STATUS_WEIGHTS = {"new": 8, "open": 20, "waiting": 8, "reopened": 2, "resolved": 17, "closed": 45}
PRIORITY_WEIGHTS = {"low": 10, "normal": 70, "high": 15, "urgent": 5}
CHANNELS = ("portal", "api", "console")
SUBJECTS = ("Bin not emptied", "Pothole on the high street", "Noise from next door", "Damp")
FIRST = ("Ann", "Ioana", "Mihai", "Sam", "Priya", "Tom", "Elena", "Kofi", "Lena", "Radu")
LAST = ("Popescu", "Smith", "Jones", "Ionescu", "Khan", "Brown", "Dumitru", "Evans", "Stan")
BATCH = 5000


def build_catalogue() -> tuple[Any, list[Any], dict[int, list[Any]]]:
    """Riverton, two more teams, 24 more agents; returns (riverton, services, agents by queue)."""
    from django.contrib.auth.hashers import make_password

    from civicdesk.accounts.models import Team, User
    from civicdesk.catalogue.models import Service, ServiceGroup
    from civicdesk.routing.models import Queue
    from tests.factories import build_riverton

    riverton = build_riverton()
    group = ServiceGroup.objects.create(name="Home and money", order=4)
    services = [riverton.missed_bin, riverton.pothole, riverton.noise]
    teams = [riverton.waste_team, riverton.roads_team]
    for slug, name in (("housing-repair", "Housing repairs"), ("council-tax", "Council tax")):
        team = Team.objects.create(name=name, slug=slug)
        queue = Queue.objects.create(name=name, slug=slug, team=team)
        services.append(Service.objects.create(code=slug, name=name, group=group, queue=queue))
        teams.append(team)
    password = make_password("benchmark")
    for n in range(24):
        agent = User.objects.create(
            email=f"agent{n}@riverton.example", full_name=f"Agent {n}", password=password
        )
        teams[n % len(teams)].members.add(agent)
        riverton.general_queue.team.members.add(agent)
    agents_by_queue = {
        queue.pk: list(queue.team.members.filter(role="agent").order_by("pk"))
        for queue in Queue.objects.select_related("team")
    }
    return riverton, services, agents_by_queue


def load_cases(count: int, services: list[Any], agents_by_queue: dict[int, list[Any]]) -> None:
    from django.db import transaction
    from django.utils import timezone

    from civicdesk.cases.models import Case
    from civicdesk.citizens.models import Citizen

    rng = random.Random(2026)
    now = timezone.now()
    citizen_count = max(count * 2 // 5, 1)
    with explicit_timestamps(Citizen, Case):
        for start in range(0, citizen_count, BATCH):
            with transaction.atomic():
                Citizen.objects.bulk_create(
                    Citizen(
                        full_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                        created_at=now - timedelta(days=rng.uniform(0, 900)),
                        updated_at=now,
                    )
                    for _ in range(start, min(start + BATCH, citizen_count))
                )
        citizen_ids = list(Citizen.objects.values_list("pk", flat=True))
        statuses, status_weights = zip(*STATUS_WEIGHTS.items(), strict=True)
        priorities, priority_weights = zip(*PRIORITY_WEIGHTS.items(), strict=True)
        default_queue_id = services[2].queue_id
        for start in range(0, count, BATCH):
            rows = []
            for n in range(start, min(start + BATCH, count)):
                status = rng.choices(statuses, status_weights)[0]
                finished = status in ("resolved", "closed")
                created = now - timedelta(days=rng.uniform(0, 730 if finished else 60))
                service = rng.choice(services) if rng.random() > 0.05 else None
                queue_id = service.queue_id if service else default_queue_id
                assigned = rng.random() < (0.95 if finished else 0.8)
                agent = rng.choice(agents_by_queue[queue_id]) if assigned else None
                first_due = created + timedelta(hours=rng.uniform(1, 48))
                resolution_due = created + timedelta(days=rng.uniform(2, 15))
                rows.append(
                    Case(
                        reference=f"RIV-{created.year}-{n + 1:06d}",
                        status_token_digest=secrets.token_hex(32),
                        status=status,
                        priority=rng.choices(priorities, priority_weights)[0],
                        subject=f"{rng.choice(SUBJECTS)} #{n + 1}",
                        service=service,
                        channel=rng.choice(CHANNELS),
                        citizen_id=rng.choice(citizen_ids),
                        queue_id=queue_id,
                        assignee=agent,
                        first_response_due_at=first_due,
                        resolution_due_at=resolution_due,
                        sla_due_at=None if finished else rng.choice((first_due, resolution_due)),
                        resolved_at=created + timedelta(days=3) if finished else None,
                        last_activity_at=created + timedelta(hours=rng.uniform(0, 72)),
                        created_at=created,
                        updated_at=created,
                    )
                )
            with transaction.atomic():
                Case.objects.bulk_create(rows)


def render_page(agent: Any, view: str, per_page: int = 25) -> int:
    """One inbox page as a view uses it: rows with their related objects, and the count."""
    from civicdesk.cases.selectors import InboxFilters, inbox_page

    page = inbox_page(user=agent, filters=InboxFilters(view=view), per_page=per_page)
    for case in page.object_list:
        _ = (case.reference, case.subject, case.sla_due_at, case.citizen.full_name)
        _ = (case.service and case.service.name, case.queue and case.queue.name)
        _ = case.assignee and case.assignee.full_name
    return page.paginator.count


def captured_sql(agent: Any, view: str) -> list[tuple[str, Any]]:
    """The exact statements and parameters the ORM sends for one page."""
    from django.db import connection

    statements: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        render_page(agent, view)
    return statements


def run_raw(statements: list[tuple[str, Any]]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            cursor.fetchall()


def measure_views(agent: Any, repeat: int) -> float:
    """Print server and raw times per view; returns the raw time of the 'all' view."""
    print(f"\n{'view':<11}{'cases':>8}{'server ms':>11}{'raw SQL ms':>12}{'ratio':>8}")
    raw_all = 0.0
    for view in VIEWS:
        total = render_page(agent, view)
        server = median_ms(lambda view=view: render_page(agent, view), repeat=repeat)
        statements = captured_sql(agent, view)
        raw = median_ms(lambda s=statements: run_raw(s), repeat=repeat)
        raw_all = raw if view == "all" else raw_all
        print(f"{view:<11}{total:>8,}{server:>11.2f}{raw:>12.2f}{server / raw:>7.1f}x")
    return raw_all


def measure_counts(agent: Any, repeat: int) -> None:
    from civicdesk.cases.selectors import inbox_counts

    elapsed = median_ms(lambda: inbox_counts(user=agent), repeat=repeat)
    counts = inbox_counts(user=agent)
    pages = {view: render_page(agent, view) for view in VIEWS}
    agree = "agree" if counts == pages else f"DISAGREE: {counts} vs pages {pages}"
    print(f"inbox_counts() {elapsed:.2f} ms; its counts {agree} with the pages' counts")


def measure_workspace(agent: Any, repeat: int, raw_all: float) -> None:
    """The rendered inbox through the test client, when the workspace has an inbox view."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(agent)

    def get_inbox(per_page: int = 25) -> None:
        response = client.get(f"/workspace/?view=all&per_page={per_page}")
        view = getattr(response.resolver_match.func, "view_class", response.resolver_match.func)
        if response.status_code != 200 or view.__name__ == "LoginView":
            raise LookupError(f"{response.status_code} from {view.__name__}")

    try:
        get_inbox()
    except Exception as exc:  # the workspace is written in parallel: report, do not fail
        print(f"GET /workspace/?view=all not measured: no inbox view yet ({exc!r:.120})")
        return
    elapsed = median_ms(get_inbox, repeat=repeat)
    sizes = []
    for per_page in (10, 25, 100):
        with CaptureQueriesContext(connection) as queries:
            get_inbox(per_page)
        sizes.append(len(queries))
    print(
        f"GET /workspace/?view=all (rendered): {elapsed:.2f} ms, "
        f"{elapsed / raw_all:.1f}x the raw SQL of its page; "
        f"SQL statements for 10 / 25 / 100 rows: {' / '.join(map(str, sizes))}"
    )


def count_statements(agent: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    print("\nSQL statements per page (rows 10 / 25 / 100):")
    for view in VIEWS:
        sizes = []
        for per_page in (10, 25, 100):
            with CaptureQueriesContext(connection) as queries:
                render_page(agent, view, per_page)
            sizes.append(len(queries))
        verdict = "constant" if len(set(sizes)) == 1 else "GROWS"
        print(f"  {view:<11}{' / '.join(map(str, sizes))}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-analyze", action="store_true", help="skip ANALYZE after loading")
    args = parser.parse_args()

    with prepared_django() as database:
        from django.db import connection

        from civicdesk.cases.models import Case

        print(f"CivicDesk inbox benchmark on {database}; {machine_label()}")
        started = time.perf_counter()
        riverton, services, agents_by_queue = build_catalogue()
        load_cases(args.cases, services, agents_by_queue)
        if not args.no_analyze:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        loaded = time.perf_counter() - started
        print(f"loaded {Case.objects.count():,} cases in {loaded:.0f} s; median of {args.repeat}")
        agent = riverton.ann
        raw_all = measure_views(agent, args.repeat)
        measure_counts(agent, args.repeat)
        measure_workspace(agent, args.repeat, raw_all)
        count_statements(agent)
        print(load_note())


if __name__ == "__main__":
    main()
