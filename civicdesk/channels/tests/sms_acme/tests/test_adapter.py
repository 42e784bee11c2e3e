import time

from pydantic import SecretStr

from civicdesk.channels.contracts import OutgoingMessage, RawPayload
from civicdesk.channels.testing import AdapterTestBase, RecordedRequest
from civicdesk.channels.tests.sms_acme.adapter import AcmeSmsAdapter, sign
from civicdesk.channels.tests.sms_acme.config import AcmeSmsConfig
from civicdesk.channels.tests.sms_acme.tests.fake import ERRORS, FakeAcme


def acme_config(base_url: str = "http://127.0.0.1:9") -> AcmeSmsConfig:
    return AcmeSmsConfig(
        from_number="+447700900001",
        base_url=base_url,
        api_key=SecretStr("test-key"),
        webhook_secret=SecretStr(WEBHOOK_SECRET),
        verify_token=SecretStr("verify-me"),
    )


WEBHOOK_SECRET = "whsec-test"


def signed(body: bytes, *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> RawPayload:
    timestamp = int(time.time()) if at is None else at
    return RawPayload(
        body=body,
        headers={
            "X-Acme-Timestamp": str(timestamp),
            "X-Acme-Signature": sign(body, secret=secret, timestamp=timestamp),
        },
    )


class TestAcmeSms(AdapterTestBase):
    adapter_class = AcmeSmsAdapter
    fake_provider_class = FakeAcme
    provider_errors = ERRORS
    signs_webhooks = True
    malformed_receipt_bodies = (
        b'{"statuses": [{"id": "X1", "status": "sent", "timestamp": "yesterday"}]}',
        b'{"statuses": [{"id": "X2", "status": "sent", "timestamp": "2026-12-02T09:00:00"}]}',
        b'{"statuses": [{"id": "X3", "status": "sent", "timestamp": 1764666000}]}',
        b'{"statuses": [{"id": "X4", "status": "sent", "error": "not an object"}]}',
        b'{"statuses": "all delivered"}',
    )

    def config(self, base_url: str) -> AcmeSmsConfig:
        return acme_config(base_url)

    def sign(self, raw: RawPayload, config: object) -> RawPayload:
        return signed(raw.body)

    def check_sent_request(self, request: RecordedRequest, message: OutgoingMessage) -> None:
        assert request.path == "/v1/messages"
        assert request.headers["Authorization"] == "Bearer test-key"
        assert request.headers["Idempotency-Key"] == "delivery-1"
        assert request.json() == {
            "from": "+447700900001",
            "to": "+447700900123",
            "text": "Your request RIV-1 is being handled.",
            "media": [],
        }
