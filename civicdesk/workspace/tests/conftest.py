"""Fixtures of the workspace tests: signed-in agents and cases opened the way citizens open them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from civicdesk.cases.models import Case
from civicdesk.channels.contracts import RawPayload
from civicdesk.channels.services import accept_inbound
from tests.factories import PASSWORD, portal_payload

OpenCase = Callable[..., Case]


def accept(channel: str, raw: RawPayload) -> Case:
    acceptance = accept_inbound(channel=channel, raw=raw, process_now=True)
    assert acceptance.payload.error == ""
    return Case.objects.get(reference=acceptance.payload.result_reference)


@pytest.fixture
def open_case(riverton: Any) -> OpenCase:
    """Opens a case through the portal channel; keyword arguments change the payload."""

    def _open(**fields: Any) -> Case:
        return accept("portal", portal_payload(**fields))

    return _open


def signed_in(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.email, password=PASSWORD)
    return client


@pytest.fixture
def ann_client(riverton: Any) -> Client:
    return signed_in(riverton.ann)
