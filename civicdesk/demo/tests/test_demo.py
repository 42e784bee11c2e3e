"""`civicdesk demo`: the City of Riverton, loaded once, identically, through the services."""

from collections import Counter
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from civicdesk.accounts.models import Team, User
from civicdesk.cases.models import Case, CaseEvent
from civicdesk.cases.services import open_case
from civicdesk.catalogue.models import Service, ServiceAttribute, ServiceGroup
from civicdesk.channels.models import DeliveryStatus, OutboundDelivery
from civicdesk.citizens.models import Citizen
from civicdesk.citizens.services import ContactInput, identify_citizen
from civicdesk.routing.models import KeywordRule, Queue
from civicdesk.routing.services import classify_text
from civicdesk.sla.models import BusinessCalendar, SlaPolicy, SlaTarget
from tests.readme import demo_logins

HISTORICAL = {"phone", "email", "counter", "letter"}


def _counts() -> dict[str, int]:
    return {
        "teams": Team.objects.count(),
        "queues": Queue.objects.count(),
        "staff": User.objects.count(),
        "groups": ServiceGroup.objects.count(),
        "services": Service.objects.count(),
        "questions": ServiceAttribute.objects.count(),
        "rules": KeywordRule.objects.count(),
        "policies": SlaPolicy.objects.count(),
        "targets": SlaTarget.objects.count(),
        "calendars": BusinessCalendar.objects.count(),
        "citizens": Citizen.objects.count(),
        "cases": Case.objects.count(),
        "events": CaseEvent.objects.count(),
        "deliveries": OutboundDelivery.objects.count(),
    }


def _check_organisation() -> None:
    staff = User.objects.all()
    assert all(user.email.endswith("@riverton.example") for user in staff)
    assert all(user.check_password("riverton-demo") for user in staff)
    assert Counter(staff.values_list("role", flat=True)) == {
        "agent": 12,
        "supervisor": 1,
        "admin": 1,
    }
    admin = User.objects.get(email="admin@riverton.example")
    assert (admin.is_superuser, admin.is_staff) == (True, True)
    assert list(Queue.objects.filter(is_default=True).values_list("name", flat=True)) == [
        "General enquiries"
    ]
    calendar = BusinessCalendar.objects.get()
    assert (calendar.timezone, calendar.holiday_country, calendar.holiday_subdivision) == (
        "Europe/London",
        "GB",
        "ENG",
    )
    assert all(
        sorted(policy.targets.values_list("priority", flat=True))
        == ["high", "low", "normal", "urgent"]
        for policy in SlaPolicy.objects.all()
    )


def _check_catalogue() -> None:
    codes = set(Service.objects.values_list("code", flat=True))
    assert {"missed-bin", "pothole", "street-light", "noise", "housing-repair"} <= codes
    assert "local-tax-question" in codes
    assert Service.objects.get(code="local-tax-question").name == "Local tax question"
    for group in ServiceGroup.objects.all():
        assert group.translations["ro"]["name"]
    for service in Service.objects.prefetch_related("attributes"):
        assert service.translations["ro"]["name"]
        assert service.translations["ro"]["description"]
        assert service.queue is not None
        assert service.sla_policy is not None
        questions = list(service.attributes.all())
        assert 1 <= len(questions) <= 4, service.code
        for question in questions:
            assert question.translations["ro"]["description"]
            keys = {str(value["key"]) for value in question.values}
            assert set(question.translations["ro"].get("values", {})) == keys
    datatypes = set(ServiceAttribute.objects.values_list("datatype", flat=True))
    assert datatypes == {
        "string",
        "number",
        "datetime",
        "text",
        "singlevaluelist",
        "multivaluelist",
    }
    pothole_rule = classify_text(text="There is a huge pothole on Mill Lane")
    romanian_rule = classify_text(text="Este o groapa mare pe strada noastra")
    assert pothole_rule is not None
    assert pothole_rule.service_code == "pothole"
    assert romanian_rule is not None
    assert romanian_rule.service_code == "pothole"


def _check_history() -> None:
    now = timezone.now()
    cases = list(Case.objects.all())
    assert sorted(case.reference for case in cases) == [
        f"RIV-{year}-{n:06d}"
        for year, n in sorted(
            (timezone.localtime(case.created_at).year, int(case.reference[-6:])) for case in cases
        )
    ]
    assert all(now - timedelta(days=121) < case.created_at < now for case in cases)
    assert not CaseEvent.objects.filter(created_at__gt=now).exists()
    assert sum(timezone.localtime(c.created_at).weekday() < 5 for c in cases) > 0.8 * len(cases)
    statuses = Counter(case.status for case in cases)
    assert statuses["closed"] > 150
    assert statuses["new"] + statuses["open"] + statuses["waiting"] > 20
    channels = {case.channel for case in cases}
    assert {"portal", "api", "console"} | HISTORICAL == channels
    old_ways = [case for case in cases if case.channel in HISTORICAL]
    assert all(case.status in ("resolved", "closed") for case in old_ways)
    assert all(case.created_at < now - timedelta(days=35) for case in old_ways)
    several = [c for c in Citizen.objects.all() if c.cases.values("channel").distinct().count() > 1]
    assert len(several) > 20
    kinds = set(CaseEvent.objects.values_list("kind", flat=True))
    assert {
        "case.message.received",
        "case.reply.sent",
        "case.note.added",
        "case.status.changed",
        "case.assigned",
        "case.opened",
    } <= kinds
    assert set(OutboundDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


@pytest.mark.django_db
def test_demo_loads_riverton_once_and_a_second_run_changes_nothing() -> None:
    out = StringIO()
    call_command("demo", stdout=out)

    counts = _counts()
    assert {k: counts[k] for k in ("teams", "queues", "staff", "groups", "rules")} == {
        "teams": 7,
        "queues": 7,
        "staff": 14,
        "groups": 8,
        "rules": 21,
    }
    assert (counts["policies"], counts["targets"], counts["calendars"]) == (3, 12, 1)
    assert 20 <= counts["services"] <= 40
    assert (counts["citizens"], counts["cases"]) == (150, 300)
    _check_organisation()
    _check_catalogue()
    _check_history()
    printed = out.getvalue()
    assert "Loaded the City of Riverton: 35 services, 300 historical cases." in printed
    lines = printed.splitlines()
    start = lines.index("Demo logins (password for all: riverton-demo)")
    printed_logins = [tuple(line.split()) for line in lines[start + 1 : start + 6]]
    assert printed_logins == [(*who.split(), email) for who, email in demo_logins()]
    assert lines[start + 6] == "Every other agent logs in as first.last@riverton.example."
    # `civicdesk serve` prints the address it serves; the demo names no port of its own.
    assert "Start it with: civicdesk serve" in lines
    assert "http" not in printed
    assert ":8000" not in printed

    again = StringIO()
    call_command("demo", stdout=again)
    assert _counts() == counts
    assert again.getvalue().splitlines()[0] == (
        "The City of Riverton demo is already loaded; nothing to add."
    )


@pytest.mark.django_db
def test_demo_city_hall_receives_mail_for_its_help_desk_address() -> None:
    from civicdesk.channels.accounts import account_config
    from civicdesk.channels.models import ChannelAccount
    from civicdesk.channels.registry import adapter_for

    call_command("demo", stdout=StringIO())
    call_command("demo", stdout=StringIO())
    account = ChannelAccount.objects.get(kind="email")
    assert (account.name, account.is_active) == ("Riverton help desk", True)
    config = account_config(adapter=adapter_for("email"), account=account)
    assert adapter_for("email").own_identities(config) == ("help@riverton.example",)
    assert (
        getattr(config, "from_name", "") == "Riverton City Hall"
    )  # replies are signed by the city hall


@pytest.mark.django_db
def test_demo_reset_replaces_the_demo_cases_and_keeps_everything_else() -> None:
    resident = identify_citizen(
        contacts=[ContactInput(kind="email", value="old.demo@rivertonmail.example")]
    )
    stale = open_case(citizen=resident, channel="portal", subject="Old demo case", service=None)
    someone = identify_citizen(contacts=[ContactInput(kind="email", value="real@mail.example")])
    real = open_case(citizen=someone, channel="api", subject="A real request", service=None)
    out = StringIO()
    call_command("demo", "--reset", stdout=out)

    assert out.getvalue().splitlines()[:2] == [
        "Removed 1 demo cases.",
        "Loaded the City of Riverton: 35 services, 300 historical cases.",
    ]
    assert not Case.objects.filter(pk=stale.pk).exists()
    assert not Citizen.objects.filter(pk=resident.pk).exists()
    assert Case.objects.get(pk=real.pk).subject == "A real request"
    assert (Citizen.objects.count(), Case.objects.count()) == (151, 301)


@pytest.mark.django_db
def test_demo_cases_that_came_by_email_phone_letter_or_counter_are_answered_by_email(
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Where the citizen has an email address the reply leaves by email (into the outbox
    folder on one machine); where they have none, the agent is told how else to reach them."""
    from email import policy
    from email.parser import BytesParser

    from civicdesk.cases.selectors import reply_routes
    from civicdesk.cases.services import reply_to_case
    from civicdesk.cases.services.messages import Unreachable
    from civicdesk.channels.selectors import channel_label

    monkeypatch.setenv("CIVICDESK_VAR_DIR", str(tmp_path))
    call_command("demo", stdout=StringIO())
    historical = list(Case.objects.filter(channel__in=HISTORICAL).order_by("id"))
    # About 86-90 of them, depending on the day the demo is loaded (history ends at "now").
    assert {case.channel for case in historical} == HISTORICAL
    # Every demo citizen has an email address: each of these cases has a way back.
    assert all(reply_routes(case)[0].channel == "email" for case in historical)
    emailed = historical

    agent = User.objects.filter(role="agent").order_by("id").first()
    assert agent is not None
    case = emailed[0]
    with django_capture_on_commit_callbacks(execute=True):
        reply_to_case(case=case, author=agent, body="We have looked into it.")
    # Its history's status notices went at the time; the reply is the one message written now.
    delivery = OutboundDelivery.objects.get(thread_reference=case.reference, is_automatic=False)
    assert (delivery.channel, delivery.status) == ("email", DeliveryStatus.SENT)
    [written] = list((tmp_path / "mail-outbox").glob("*.eml"))
    sent = BytesParser(policy=policy.default).parsebytes(written.read_bytes())
    assert sent["To"] == delivery.recipient
    assert sent["Message-ID"] == f"<{delivery.provider_message_id}>"
    assert sent["Subject"].startswith(f"[{case.reference}] ")

    # Someone who phoned and gave no email address cannot be answered in writing.
    caller = identify_citizen(contacts=[ContactInput(kind="phone", value="07911 123456")])
    client.force_login(agent)
    for channel in ("counter", "phone"):
        case = open_case(citizen=caller, channel=channel, subject="Called in", service=None)
        assert reply_routes(case) == []
        page = client.get(f"/workspace/cases/{case.reference}/").content.decode()
        assert (
            "This citizen can&#x27;t be reached by reply: the case came by "
            f"{channel_label(channel)} and we have no email address for them" in page
        ), channel
        assert 'id="reply-body"' not in page
        assert "Sent by" not in page
        events = CaseEvent.objects.filter(case=case).count()
        with pytest.raises(Unreachable):
            reply_to_case(case=case, author=agent, body="Hello")
        assert CaseEvent.objects.filter(case=case).count() == events


@pytest.mark.django_db
def test_demo_reset_never_numbers_a_case_with_a_reference_a_waiting_contact_was_given(
    settings: Any,
) -> None:
    from civicdesk.channels.services import accept_inbound
    from tests.factories import portal_payload

    settings.TASK_BACKEND = "database"  # acknowledged and stored; no worker has run yet
    waiting = accept_inbound(channel="portal", raw=portal_payload(), reserve_reference=True).payload
    assert waiting.reference
    assert not Case.objects.exists()

    call_command("demo", "--reset", stdout=StringIO())
    assert not Case.objects.filter(reference=waiting.reference).exists()


@pytest.mark.django_db
def test_demo_reset_numbers_the_cases_again_as_the_first_load_did() -> None:
    call_command("demo", stdout=StringIO())
    first = set(Case.objects.values_list("reference", flat=True))
    call_command("demo", "--reset", stdout=StringIO())
    assert set(Case.objects.values_list("reference", flat=True)) == first


@pytest.mark.django_db
def test_demo_publishes_riverton_help_articles_in_english_and_romanian_once() -> None:
    from civicdesk.knowledge.models import Article, ArticleVersion
    from civicdesk.knowledge.selectors import live_version, search_articles

    call_command("demo", stdout=StringIO())
    call_command("demo", stdout=StringIO())

    assert Article.objects.count() == 5
    assert ArticleVersion.objects.filter(state="published").count() == 10
    bins = Article.objects.get(slug="bin-collection-days")
    assert [service.code for service in bins.services.all()] == ["missed-bin"]
    ro = live_version(slug="bin-collection-days", language="ro")
    assert ro is not None
    assert ro.title == "Când se colectează pubelele?"
    assert [r.slug for r in search_articles(query="dog walk park", language="en")] == [
        "dogs-in-parks"
    ]
    assert [r.slug for r in search_articles(query="impozitul local", language="ro")] == [
        "paying-council-tax"
    ]
