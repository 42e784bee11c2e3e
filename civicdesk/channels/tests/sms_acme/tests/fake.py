"""Acme's API as a loopback server: its success answer and its real error bodies."""

from __future__ import annotations

import itertools

from civicdesk.channels.testing import FakeProvider, FakeResponse, ProviderError, RecordedRequest

_ids = itertools.count(1)

INVALID_NUMBER = ProviderError(
    400,
    b'{"error": {"code": 21211, "message": "The number +4477 is not a valid phone number."}}',
    permanent=True,
)
BAD_KEY = ProviderError(
    401, b'{"error": {"code": 20003, "message": "Authenticate"}}', permanent=True
)
TOO_MANY = ProviderError(
    429,
    b'{"error": {"code": 20429, "message": "Too Many Requests"}}',
    permanent=False,
    headers={"Content-Type": "application/json", "Retry-After": "30"},
)
OUTAGE = ProviderError(
    503, b'{"error": {"code": 20503, "message": "Service Unavailable"}}', permanent=False
)
ERRORS = [INVALID_NUMBER, BAD_KEY, TOO_MANY, OUTAGE]


class FakeAcme(FakeProvider):
    def respond(self, request: RecordedRequest) -> FakeResponse:
        if request.path != "/v1/messages" or request.method != "POST":
            return FakeResponse(404, b'{"error": {"code": 20404, "message": "Not Found"}}')
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return FakeResponse(BAD_KEY.status, BAD_KEY.body)
        return FakeResponse(202, f'{{"id": "AM-OUT-{next(_ids)}", "status": "queued"}}'.encode())
