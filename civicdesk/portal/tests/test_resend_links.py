""" "Resend my status link": the same answer for any address, the links only to a known one,
limited per address and per client, CSRF-protected, in English and Romanian."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from civicdesk.cases.models import Case
from civicdesk.channels.models import OutboundDelivery
from civicdesk.channels.services import ensure_account
from civicdesk.core.clock import now

pytestmark = pytest.mark.django_db

URL = "/lost-link/"
PUBLIC = "https://portal.riverton.example"


@pytest.fixture(autouse=True)
def fresh_limits(settings: Any) -> Iterator[None]:
    settings.CIVICDESK_PUBLIC_URL = PUBLIC
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def language_kept() -> Iterator[None]:
    """A page asked for in Romanian leaves Romanian active in this thread (LocaleMiddleware
    does not switch back): the tests after these must not inherit it."""
    with translation.override(translation.get_language()):
        yield


@pytest.fixture
def mailbox(riverton: Any) -> None:
    ensure_account(kind="email", name="Help desk", values={"address": "help@riverton.example"})


def ask(client: Client, email: str, **extra: Any) -> Any:
    return client.post(URL, {"email": email}, **extra)


def test_the_page_asks_for_an_address_in_a_csrf_protected_form(client: Client) -> None:
    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Get the links to your requests</h1>" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<label class="label" for="id_email">Email address</label>' in html
    strict = Client(enforce_csrf_checks=True)
    assert ask(strict, "jo@mail.example").status_code == 403
    assert OutboundDelivery.objects.count() == 0


def test_status_and_missing_pages_link_to_it(
    client: Client, portal_case: Case, portal_token: str
) -> None:
    for path in ["/", f"/requests/{portal_token}/", "/requests/no-such-link-at-all/"]:
        assert f'href="{URL}"' in client.get(path).content.decode(), path


def test_known_and_unknown_addresses_get_the_same_answer_and_only_the_known_one_mail(
    client: Client, portal_case: Case, mailbox: None
) -> None:
    unknown = ask(client, "nobody@mail.example")
    known = ask(client, "Jo@Mail.example ")
    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert known.status_code == 303
    after = client.get(known["Location"])
    assert "If we have requests for this address, we have sent the links" in after.content.decode()
    [sent] = OutboundDelivery.objects.all()
    assert (sent.channel, sent.recipient, sent.is_automatic) == ("email", "jo@mail.example", True)
    assert f"{portal_case.reference}: " in sent.body
    found = re.search(re.escape(PUBLIC) + r"(/requests/\S+/)", sent.body)
    assert found is not None
    page = Client().get(found.group(1))
    assert page.status_code == 200
    assert portal_case.reference in page.content.decode()


def test_long_finished_requests_are_not_listed(
    client: Client, portal_case: Case, mailbox: None
) -> None:
    Case.objects.filter(pk=portal_case.pk).update(
        status="closed", resolved_at=now() - timedelta(days=400)
    )
    ask(client, "jo@mail.example")
    assert OutboundDelivery.objects.count() == 0


def test_an_unreadable_address_is_refused_on_the_page(client: Client) -> None:
    page = ask(client, "not an address")
    assert page.status_code == 400
    assert "Enter an email address in the correct format" in page.content.decode()


def test_too_many_requests_for_one_address_are_refused_with_429(
    client: Client, portal_case: Case, mailbox: None, settings: Any
) -> None:
    settings.CIVICDESK_LINK_RESEND_PER_ADDRESS = 2
    assert [ask(client, "jo@mail.example").status_code for _ in range(2)] == [303, 303]
    refused = ask(client, "JO@mail.example")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= settings.CIVICDESK_LINK_RESEND_WINDOW_SECONDS
    assert "Please wait before asking again" in refused.content.decode()
    assert OutboundDelivery.objects.count() == 2
    # Another address from the same client is still answered.
    assert ask(client, "someone@mail.example").status_code == 303


def test_too_many_requests_from_one_client_are_refused_with_429(
    client: Client, settings: Any
) -> None:
    settings.CIVICDESK_LINK_RESEND_PER_CLIENT = 3
    codes = [ask(client, f"a{n}@mail.example").status_code for n in range(4)]
    assert codes == [303, 303, 303, 429]
    other = Client(REMOTE_ADDR="192.0.2.7")
    assert ask(other, "a9@mail.example").status_code == 303


def test_the_page_and_the_mail_speak_romanian(
    client: Client, portal_case: Case, mailbox: None
) -> None:
    client.cookies["django_language"] = "ro"
    page = client.get(URL).content.decode()
    assert "Primiți linkurile către solicitările dumneavoastră" in page
    answer = client.get(ask(client, "jo@mail.example")["Location"]).content.decode()
    assert "Dacă avem solicitări pentru această adresă, v-am trimis linkurile" in answer
    [sent] = OutboundDelivery.objects.all()
    assert sent.subject == "Solicitările dumneavoastră la City of Riverton"
    assert "Fiecare link deschide pagina privată de stare" in sent.body
