"""The admin's "test connection": a button on the account's page and an action on the list,
run through the Django test client as an administrator against a real SMTP server on
loopback; each step comes back as a message in plain words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from civicdesk.channels.accounts import configure_account
from civicdesk.channels.adapters.email.tests.tls_sink import PASSWORD, USERNAME, TlsSink
from civicdesk.channels.models import ChannelAccount
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[TlsSink]:
    with TlsSink(tmp_path, mode="starttls") as running:
        yield running


def email_account(sink: TlsSink, *, password: str, name: str = "Help desk") -> ChannelAccount:
    account = ChannelAccount(kind="email", name=name)
    configure_account(
        account=account,
        values={
            "address": "help@riverton.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": sink.port,
            "smtp_username": USERNAME,
            "smtp_password": password,
            "smtp_ca_file": str(sink.cert),
            "smtp_timeout_seconds": 5,
        },
        save=False,
    )
    account.save()
    return account


def shown(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in response.context["messages"]]


def test_the_change_page_offers_the_button_and_it_reports_each_step(
    riverton: Any, client: Client, sink: TlsSink
) -> None:
    account = email_account(sink, password="wrong")
    client.force_login(riverton.admin)
    url = f"/admin/contact_channels/channelaccount/{account.pk}/change/"
    page = client.get(url).content.decode()
    action = f"/admin/contact_channels/channelaccount/{account.pk}/test-connection/"
    assert f'action="{action}"' in page
    assert 'id="test-connection"' in page

    response = client.post(action, follow=True)
    assert response.redirect_chain == [(url, 302)]
    messages = shown(response)
    assert [level for level, _ in messages] == ["success"] * 4 + ["error"]
    assert messages[0] == ("success", "Name lookup: 127.0.0.1 is 127.0.0.1.")
    assert messages[3] == ("success", "Encryption (TLS): STARTTLS: the connection is encrypted.")
    assert messages[-1][1].startswith(
        "Sign-in: The server refused the user name or password for 'civicdesk' (535 "
    )
    # The page the messages are shown on escapes them like any text.
    assert "Sign-in: The server refused the user name or password for &#x27;civicdesk&#x27;" in (
        response.content.decode()
    )
    assert sink.handler.received == []


def test_the_list_action_tests_every_selected_account(
    riverton: Any, client: Client, sink: TlsSink
) -> None:
    good = email_account(sink, password=PASSWORD, name="Help desk")
    bad = email_account(sink, password="wrong", name="Info")
    client.force_login(riverton.admin)
    response = client.post(
        "/admin/contact_channels/channelaccount/",
        {"action": "test_connections", "_selected_action": [good.pk, bad.pk]},
        follow=True,
    )
    messages = shown(response)
    assert ("success", "Help desk: Sign-in: Signed in as 'civicdesk'.") in messages
    info = [text for level, text in messages if level == "error"]
    assert len(info) == 1
    assert info[0].startswith("Info: Sign-in: The server refused the user name or password")


def test_an_account_whose_secrets_cannot_be_read_says_so(
    riverton: Any, client: Client, sink: TlsSink
) -> None:
    account = email_account(sink, password=PASSWORD)
    ChannelAccount.objects.filter(pk=account.pk).update(secrets_encrypted="not-a-token")
    client.force_login(riverton.admin)
    response = client.post(
        f"/admin/contact_channels/channelaccount/{account.pk}/test-connection/", follow=True
    )
    assert shown(response) == [
        (
            "error",
            "Account settings: The stored secrets cannot be decrypted with the configured "
            "keys: enter the account's secrets again.",
        )
    ]


def test_only_a_post_by_staff_who_may_change_accounts_runs_it(
    riverton: Any, client: Client, sink: TlsSink
) -> None:
    account = email_account(sink, password=PASSWORD)
    action = f"/admin/contact_channels/channelaccount/{account.pk}/test-connection/"
    client.force_login(riverton.admin)
    assert client.get(action).status_code == 405
    viewer = UserFactory.create(email="viewer@riverton.example", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_channelaccount"))
    client.force_login(viewer)
    assert client.post(action).status_code == 403
    client.force_login(riverton.ann)  # not staff: the admin's own login page
    assert client.post(action).status_code == 302
    assert (
        client.post("/admin/contact_channels/channelaccount/999999/test-connection/").status_code
        == 302
    )
    client.force_login(riverton.admin)
    missing = "/admin/contact_channels/channelaccount/999999/test-connection/"
    assert client.post(missing).status_code == 404


def test_a_kind_with_nothing_to_test_says_so(riverton: Any, client: Client) -> None:
    account = ChannelAccount(kind="console", name="Staff console")
    configure_account(account=account, values={}, save=False)
    account.save()
    client.force_login(riverton.admin)
    response = client.post(
        f"/admin/contact_channels/channelaccount/{account.pk}/test-connection/", follow=True
    )
    assert shown(response) == [
        ("info", "Console (development) accounts have no connection to test.")
    ]


def test_staff_who_may_only_view_accounts_see_the_page_without_its_secrets(
    riverton: Any, client: Client, sink: TlsSink
) -> None:
    account = email_account(sink, password="s3cret-Pa55")
    viewer = UserFactory.create(email="viewer@riverton.example", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_channelaccount"))
    client.force_login(viewer)
    response = client.get(f"/admin/contact_channels/channelaccount/{account.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Help desk" in page
    assert "s3cret-Pa55" not in page
    assert 'id="test-connection"' not in page
