"""When to try a failed delivery again. Pure."""

import math
from datetime import datetime, timedelta

BASE_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 3600
# The longest a provider's Retry-After is honoured: a year-long (or overflowing) value would
# otherwise park the message for ever or crash the attempt that records it.
MAX_RETRY_AFTER_SECONDS = 3600


def clamp_retry_after(seconds: float) -> float:
    """`seconds` within [0, MAX_RETRY_AFTER_SECONDS]; NaN counts as 0."""
    if math.isnan(seconds):
        return 0.0
    return min(max(seconds, 0.0), float(MAX_RETRY_AFTER_SECONDS))


def backoff_delay(attempts_made: int) -> timedelta:
    """Exponential backoff after `attempts_made` tries: 30 s, 60 s, 120 s, ... capped at 1 h."""
    exponent = max(attempts_made - 1, 0)
    seconds = min(BASE_DELAY_SECONDS * (2**exponent), MAX_DELAY_SECONDS)
    return timedelta(seconds=seconds)


def next_attempt_at(
    *, now: datetime, attempts_made: int, retry_after: float | None = None
) -> datetime:
    """The backoff, or the provider's Retry-After when it asks for longer (at most an hour)."""
    delay = backoff_delay(attempts_made)
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=clamp_retry_after(retry_after)))
    return now + delay
