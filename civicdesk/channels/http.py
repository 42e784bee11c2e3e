"""The one HTTP client every provider adapter uses: timing, logging, bounded retries, and the
mapping of transport and HTTP errors to delivery results. An adapter writes only the call.

    client = ProviderClient(provider="acme", base_url=config.base_url, headers={...})
    return client.send("POST", "/v1/messages", json=body, on_success=lambda r: r.json()["id"])

Errors → results: connection failures, time-outs, 5xx and 429 are temporary (429 and 503
carry the provider's Retry-After); any other 4xx is permanent. The provider's error body is
kept in the error text (first 1,000 characters), because that is what support will ask for.

Retries inside one attempt are few and only where they cannot send a message twice: a
connection that never opened is always retried; time-outs, 5xx and 429 are retried only for
idempotent calls (GET, or a call the provider deduplicates by an idempotency key). Everything
else is left to the framework's own retry with backoff (`attempt_delivery`).
Adapters may import this module; it imports no ORM.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from civicdesk.channels.contracts import DeliveryResult
from civicdesk.channels.delivery_policy import clamp_retry_after
from civicdesk.core.clock import now

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_RETRIES = 2
# A Retry-After longer than this is not waited for inside the call; the framework reschedules.
MAX_INLINE_WAIT_SECONDS = 2.0
ERROR_BODY_LIMIT = 1000
RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
_DELTA_SECONDS = re.compile(r"[0-9]{1,10}", re.ASCII)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The Retry-After header as seconds (delta-seconds or an HTTP date), None if absent or
    unreadable; clamped to `MAX_RETRY_AFTER_SECONDS`. Only ASCII digits count as a number."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if _DELTA_SECONDS.fullmatch(value):
        return clamp_retry_after(float(value))
    try:
        at = parsedate_to_datetime(value)
        return clamp_retry_after((at - now()).total_seconds())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def result_for_status(provider: str, response: httpx.Response) -> DeliveryResult:
    """The failure result for an unsuccessful response, with the provider's error body."""
    body = response.text[:ERROR_BODY_LIMIT]
    error = f"{provider} answered HTTP {response.status_code}: {body}"
    if response.status_code in RETRIABLE_STATUSES:
        return DeliveryResult.temporary_failure(error, retry_after=retry_after_seconds(response))
    return DeliveryResult.permanent_failure(error)


class ProviderClient:
    """A provider's HTTP API. `transport` lets a test speak to a fake over loopback."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        max_retries: int = MAX_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.max_retries = max_retries
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url,
            headers=dict(headers or {}),
            timeout=timeout or _default_timeout(),
            auth=auth,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ProviderClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        on_success: Callable[[httpx.Response], str],
        idempotent: bool | None = None,
        **request: Any,
    ) -> DeliveryResult:
        """Make the call and translate its outcome; `on_success` returns the provider's id for
        the message from a 2xx response (raising KeyError/ValueError makes it permanent:
        the provider answered something we cannot read, and sending again would duplicate)."""
        response = self.request(method, path, idempotent=idempotent, **request)
        if isinstance(response, DeliveryResult):
            return response
        if not response.is_success:
            return result_for_status(self.provider, response)
        try:
            return DeliveryResult.sent(provider_message_id=on_success(response))
        except (KeyError, ValueError, TypeError) as exc:
            return DeliveryResult.permanent_failure(
                f"{self.provider} accepted the message but its answer is unreadable ({exc!r}): "
                f"{response.text[:ERROR_BODY_LIMIT]}"
            )

    def request(
        self, method: str, path: str, *, idempotent: bool | None = None, **request: Any
    ) -> httpx.Response | DeliveryResult:
        """The response (any status) or, for a transport failure, a temporary DeliveryResult."""
        safe = method.upper() in ("GET", "HEAD", "OPTIONS") if idempotent is None else idempotent
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = self._client.request(method, path, **request)
            except httpx.ConnectError as exc:
                outcome: httpx.Response | DeliveryResult = DeliveryResult.temporary_failure(
                    f"{self.provider} could not be reached: {exc}"
                )
                retriable = True
            except httpx.TimeoutException as exc:
                outcome = DeliveryResult.temporary_failure(
                    f"{self.provider} timed out ({type(exc).__name__})"
                )
                retriable = safe
            except httpx.TransportError as exc:
                outcome = DeliveryResult.temporary_failure(
                    f"{self.provider} transport error: {exc}"
                )
                retriable = safe
            else:
                outcome = response
                retriable = safe and response.status_code in RETRIABLE_STATUSES
            elapsed_ms = (time.monotonic() - started) * 1000
            status = outcome.status_code if isinstance(outcome, httpx.Response) else "error"
            logger.info(
                "%s %s %s -> %s in %.0f ms (try %d)",
                self.provider,
                method,
                path,
                status,
                elapsed_ms,
                attempt,
            )
            if not retriable or attempt > self.max_retries:
                return outcome
            wait = 0.1 * (2 ** (attempt - 1))
            if isinstance(outcome, httpx.Response):
                wait = max(wait, retry_after_seconds(outcome) or 0.0)
            if wait > MAX_INLINE_WAIT_SECONDS:
                return outcome
            self._sleep(wait)


# Set once at start-up by the channels app from CIVICDESK_PROVIDER_TIMEOUT_SECONDS, so that this
# module (which adapters import) never reads Django's settings itself.
_timeout_seconds = DEFAULT_TIMEOUT_SECONDS


def set_default_timeout(seconds: float) -> None:
    global _timeout_seconds  # noqa: PLW0603 - one process-wide default, set at start-up
    if seconds <= 0:
        raise ValueError("a provider time-out must be positive")
    _timeout_seconds = float(seconds)


def _default_timeout() -> float:
    return _timeout_seconds
