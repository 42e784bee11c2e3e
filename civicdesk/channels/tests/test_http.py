"""The shared provider client against a real HTTP server on loopback."""

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from civicdesk.channels.contracts import DeliveryOutcome
from civicdesk.channels.http import ProviderClient, retry_after_seconds
from civicdesk.channels.testing import FakeProvider, FakeResponse, RecordedRequest


class SlowProvider(FakeProvider):
    def respond(self, request: RecordedRequest) -> FakeResponse:
        time.sleep(0.5)
        return FakeResponse(200, b'{"id": "late"}')


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with FakeProvider() as fake:
        yield fake


def _client(url: str, **kwargs: object) -> ProviderClient:
    waits: list[float] = []
    client = ProviderClient(provider="Acme", base_url=url, sleep=waits.append, **kwargs)  # type: ignore[arg-type]
    client.waits = waits  # type: ignore[attr-defined]
    return client


def _message_id(response: object) -> str:
    return str(response.json()["id"])  # type: ignore[attr-defined]


def test_success_returns_the_providers_id(provider: FakeProvider) -> None:
    provider.script(FakeResponse(202, b'{"id": "AM-1"}'))
    result = _client(provider.url).send("POST", "/v1/messages", json={}, on_success=_message_id)
    assert result.outcome is DeliveryOutcome.SENT
    assert result.provider_message_id == "AM-1"


def test_other_4xx_is_permanent_and_keeps_the_providers_body(provider: FakeProvider) -> None:
    provider.script(FakeResponse(400, b'{"error": {"message": "bad number"}}'))
    result = _client(provider.url).send("POST", "/v1/messages", json={}, on_success=_message_id)
    assert result.outcome is DeliveryOutcome.PERMANENT_FAILURE
    assert result.error == 'Acme answered HTTP 400: {"error": {"message": "bad number"}}'
    assert len(provider.requests) == 1


def test_5xx_on_a_plain_post_is_temporary_and_not_retried_in_the_call(
    provider: FakeProvider,
) -> None:
    provider.script(FakeResponse(500, b"oops"), FakeResponse(202, b'{"id": "AM-2"}'))
    result = _client(provider.url).send("POST", "/v1/messages", json={}, on_success=_message_id)
    assert result.outcome is DeliveryOutcome.TEMPORARY_FAILURE
    assert result.error == "Acme answered HTTP 500: oops"
    assert len(provider.requests) == 1


def test_5xx_on_an_idempotent_call_is_retried_a_bounded_number_of_times(
    provider: FakeProvider,
) -> None:
    provider.script(
        FakeResponse(503, b"busy"), FakeResponse(502, b"gw"), FakeResponse(202, b'{"id": "AM-3"}')
    )
    client = _client(provider.url)
    result = client.send("POST", "/v1/messages", idempotent=True, on_success=_message_id)
    assert result.provider_message_id == "AM-3"
    assert len(provider.requests) == 3
    assert client.waits == [0.1, 0.2]  # type: ignore[attr-defined]

    provider.requests.clear()
    provider.script(*[FakeResponse(503, b"down")] * 5)
    result = client.send("GET", "/v1/status", on_success=_message_id)
    assert result.outcome is DeliveryOutcome.TEMPORARY_FAILURE
    assert len(provider.requests) == 3  # one try and two retries, no more


def test_429_carries_retry_after(provider: FakeProvider) -> None:
    provider.script(FakeResponse(429, b"slow down", {"Retry-After": "120"}))
    client = _client(provider.url)
    result = client.send("POST", "/v1/messages", idempotent=True, on_success=_message_id)
    assert result.outcome is DeliveryOutcome.TEMPORARY_FAILURE
    assert result.retry_after == 120.0
    assert result.error == "Acme answered HTTP 429: slow down"
    assert len(provider.requests) == 1  # too long to wait inside the call
    assert client.waits == []  # type: ignore[attr-defined]


def test_a_closed_port_is_a_temporary_failure_retried() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = _client(f"http://127.0.0.1:{port}")
    result = client.send("POST", "/v1/messages", json={}, on_success=_message_id)
    assert result.outcome is DeliveryOutcome.TEMPORARY_FAILURE
    assert result.error.startswith("Acme could not be reached:")
    assert client.waits == [0.1, 0.2]  # type: ignore[attr-defined]


def test_a_time_out_is_temporary_and_a_plain_post_is_not_resent() -> None:
    with SlowProvider() as slow:
        result = _client(slow.url, timeout=0.1).send(
            "POST", "/v1/messages", json={}, on_success=_message_id
        )
        assert result.outcome is DeliveryOutcome.TEMPORARY_FAILURE
        assert result.error == "Acme timed out (ReadTimeout)"
        assert len(slow.requests) == 1


def test_an_unreadable_success_is_permanent(provider: FakeProvider) -> None:
    provider.script(FakeResponse(200, b"<html>ok</html>"))
    result = _client(provider.url).send("POST", "/v1/messages", json={}, on_success=_message_id)
    assert result.outcome is DeliveryOutcome.PERMANENT_FAILURE
    assert "<html>ok</html>" in result.error


def _retry_after(value: str) -> float | None:
    return retry_after_seconds(
        httpx.Response(429, headers=[(b"Retry-After", value.encode("latin-1"))])
    )


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("\u00b2", None),  # a superscript two is a digit to str.isdigit, not to HTTP
        ("-5", None),
        ("1.5", None),
        ("99999999999999", None),  # more than ten digits: not a delta-seconds
        ("9999999999", 3600.0),
        (str(365 * 86400), 3600.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
        ("Fri, 31 Dec 9999 23:59:59 GMT", 3600.0),
        ("soon", None),
    ],
)
def test_retry_after_is_parsed_strictly_and_capped(value: str, seconds: float | None) -> None:
    assert _retry_after(value) == seconds


def test_the_default_time_out_comes_from_the_setting_given_at_start_up() -> None:
    from django.conf import settings

    from civicdesk.channels import http

    assert http._default_timeout() == float(settings.CIVICDESK_PROVIDER_TIMEOUT_SECONDS)
    with pytest.raises(ValueError, match="positive"):
        http.set_default_timeout(0)
