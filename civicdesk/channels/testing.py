"""What every adapter's tests build on: recorded payloads replayed against expected results,
signature checks, and a fake provider on loopback HTTP speaking the provider's wire format.

    class TestAcmeSms(AdapterTestBase):
        adapter_class = AcmeSmsAdapter
        fake_provider_class = FakeAcme          # None for channels without a provider
        provider_errors = [ProviderError(400, b'{"error": ...}', permanent=True), ...]

        def config(self, base_url: str) -> AcmeSmsConfig: ...
        def sign(self, raw: RawPayload, config) -> RawPayload: ...   # signed channels only

Recorded payloads live in the adapter's `tests/payloads/`: `<name>.<ext>` is the body exactly as
the provider sent it; `<name>.expected.json` beside it holds the request's content type and
headers and what the adapter must make of it (`message`, `receipts`, or `error`). Write or
refresh an expected file with `record_expected(adapter_class, path)` and read the diff.
No database is used: adapters never touch it.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from civicdesk.channels.config import AccountConfig
from civicdesk.channels.contracts import (
    ChannelAdapter,
    DeliveryOutcome,
    InvalidPayload,
    NoMessage,
    OutgoingMessage,
    RawPayload,
    SignatureMismatch,
)

# --- the far side of a provider ---------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class FakeResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


class FakeProvider:
    """A provider's API on 127.0.0.1 (a real HTTP server in a thread). Subclasses implement
    `respond` with the provider's success answer; `script` queues the next answers (the
    provider's real error bodies) and takes precedence. `requests` records what arrived."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.scripted: list[FakeResponse] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = RecordedRequest(
                    method=self.command,
                    path=self.path,
                    headers=dict(self.headers.items()),
                    body=self.rfile.read(length),
                )
                fake.requests.append(request)
                response = fake.scripted.pop(0) if fake.scripted else fake.respond(request)
                self.send_response(response.status)
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.body)))
                self.end_headers()
                self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def respond(self, request: RecordedRequest) -> FakeResponse:
        return FakeResponse(status=200, body=b"{}")

    def script(self, *responses: FakeResponse) -> None:
        self.scripted.extend(responses)

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- recorded payloads -------------------------------------------------------------------------


def _plain(value: Any) -> Any:  # noqa: PLR0911 - one case per kind of value
    """Contract values as JSON: dataclasses as objects, bytes as base64, instants as ISO."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def interpret(adapter: ChannelAdapter, raw: RawPayload) -> dict[str, Any]:
    """What the adapter makes of a payload, as the plain values an expected file holds."""
    result: dict[str, Any] = {"message": None, "receipts": [], "error": ""}
    try:
        result["message"] = _plain(adapter.parse_inbound(raw))
    except NoMessage:
        pass
    except InvalidPayload as exc:
        result["error"] = str(exc)
    try:
        result["receipts"] = _plain(adapter.parse_receipt(raw))
    except InvalidPayload as exc:
        result["error"] = result["error"] or str(exc)
    return result


def recorded_payloads(folder: Path) -> list[Path]:
    return sorted(
        path for path in folder.glob("*") if path.is_file() and ".expected" not in path.name
    )


def expected_path(payload_path: Path) -> Path:
    return payload_path.with_name(payload_path.stem + ".expected.json")


def load_recorded(payload_path: Path) -> tuple[RawPayload, dict[str, Any]]:
    expected = json.loads(expected_path(payload_path).read_text())
    raw = RawPayload(
        body=payload_path.read_bytes(),
        content_type=expected.get("content_type", "application/json"),
        headers=expected.get("headers", {}),
    )
    return raw, expected


def record_expected(
    adapter_class: type[ChannelAdapter],
    payload_path: Path,
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Write `<name>.expected.json` from what the adapter makes of the payload today."""
    raw = RawPayload(
        body=payload_path.read_bytes(), content_type=content_type, headers=headers or {}
    )
    expected = {"content_type": content_type, "headers": headers or {}}
    expected.update(interpret(adapter_class(), raw))
    expected_path(payload_path).write_text(
        json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
    )
    return expected


# --- the base every adapter's tests subclass ---------------------------------------------------


@dataclass(frozen=True)
class ProviderError:
    """A real error answer of the provider, and whether sending again could help."""

    status: int
    body: bytes
    permanent: bool
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


class AdapterTestBase:
    """Subclass in `adapters/<kind>/tests/test_adapter.py`; pytest collects the tests below."""

    adapter_class: ClassVar[type[ChannelAdapter]]
    fake_provider_class: ClassVar[type[FakeProvider] | None] = None
    provider_errors: ClassVar[list[ProviderError]] = []
    signs_webhooks: ClassVar[bool] = False
    sample_message: ClassVar[OutgoingMessage | None] = None
    # Bodies with receipts the adapter cannot read (bad timestamps, states): each must raise
    # InvalidPayload or read as receipts with aware times.
    malformed_receipt_bodies: ClassVar[tuple[bytes, ...]] = ()

    def config(self, base_url: str) -> AccountConfig:
        """The account settings the tests use (pointing at the fake provider, if any)."""
        return self.adapter_class.config_schema()

    def sign(self, raw: RawPayload, config: AccountConfig) -> RawPayload:
        """The payload as the provider would sign it (signed channels override)."""
        return raw

    def payloads_folder(self) -> Path:
        import sys

        return Path(sys.modules[type(self).__module__].__file__ or ".").parent / "payloads"

    def outgoing(self) -> OutgoingMessage:
        return self.sample_message or OutgoingMessage(
            channel=self.adapter_class.kind,
            recipient="+447700900123",
            body="Your request RIV-1 is being handled.",
            subject="[RIV-1] Pothole",
            thread_reference="RIV-1",
            idempotency_key="delivery-1",
        )

    @pytest.fixture
    def provider(self) -> Iterator[FakeProvider | None]:
        if self.fake_provider_class is None:
            yield None
            return
        with self.fake_provider_class() as fake:
            yield fake

    def test_recorded_payloads_parse_as_expected(self) -> None:
        paths = recorded_payloads(self.payloads_folder())
        assert paths, f"no recorded payloads in {self.payloads_folder()}"
        adapter = self.adapter_class()
        for path in paths:
            raw, expected = load_recorded(path)
            got = interpret(adapter, raw)
            want = {key: expected.get(key) for key in ("message", "receipts", "error")}
            assert got == want, f"{path.name}: the adapter's reading changed"

    def test_receipts_are_aware_and_unreadable_ones_raise_invalid_payload(self) -> None:
        """The framework stores a webhook before reading its receipts and answers the provider
        from what it stored: anything but InvalidPayload from `parse_receipt` is a 500 after
        storing, and a naive timestamp is a time in no known zone."""
        adapter = self.adapter_class()
        raws = [load_recorded(path)[0] for path in recorded_payloads(self.payloads_folder())]
        raws += [
            RawPayload(body=body, content_type="application/json")
            for body in (b"", b"{", b"[]", b"null", b"\xff\xfe", *self.malformed_receipt_bodies)
        ]
        for raw in raws:
            try:
                receipts = adapter.parse_receipt(raw)
            except InvalidPayload:
                continue
            for receipt in receipts:
                assert receipt.at is None or receipt.at.utcoffset() is not None, (raw.body, receipt)

    def test_signature_good_and_forged(self) -> None:
        if not self.signs_webhooks:
            pytest.skip("this channel does not sign its payloads")
        adapter = self.adapter_class()
        config = self.config("http://127.0.0.1:9")
        for path in recorded_payloads(self.payloads_folder()):
            raw, _ = load_recorded(path)
            signed = self.sign(raw, config)
            adapter.verify(signed, config)
            forged = RawPayload(
                body=signed.body + b" ", content_type=signed.content_type, headers=signed.headers
            )
            with pytest.raises(SignatureMismatch):
                adapter.verify(forged, config)
            with pytest.raises(SignatureMismatch):
                adapter.verify(RawPayload(body=raw.body, content_type=raw.content_type), config)

    def test_send_succeeds(self, provider: FakeProvider | None) -> None:
        config = self.config(provider.url if provider else "http://127.0.0.1:9")
        result = self.adapter_class().send(self.outgoing(), config)
        assert result.outcome is DeliveryOutcome.SENT, result.error
        assert result.provider_message_id
        if provider is not None:
            assert len(provider.requests) == 1
            self.check_sent_request(provider.requests[0], self.outgoing())

    def check_sent_request(self, request: RecordedRequest, message: OutgoingMessage) -> None:
        """Assert the provider received `message` in its wire format (providers override)."""

    def test_provider_errors_map_to_results(self, provider: FakeProvider | None) -> None:
        if provider is None:
            pytest.skip("this channel has no provider")
        assert self.provider_errors, "record the provider's real error answers"
        config = self.config(provider.url)
        for error in self.provider_errors:
            provider.requests.clear()
            # Enough copies for the client's bounded in-call retries.
            provider.script(*[FakeResponse(error.status, error.body, error.headers)] * 3)
            result = self.adapter_class().send(self.outgoing(), config)
            provider.scripted.clear()
            expected = (
                DeliveryOutcome.PERMANENT_FAILURE
                if error.permanent
                else DeliveryOutcome.TEMPORARY_FAILURE
            )
            assert result.outcome is expected, (error.status, result)
            assert error.body.decode()[:200] in result.error
