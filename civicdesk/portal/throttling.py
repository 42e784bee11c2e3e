"""A fixed-window request counter in Django's cache, for pages anyone can post to.

The project had no throttle for web pages (the channels framework limits inbound messages per
sender in the database, which a page that stores nothing does not use), and one this small
needs no library: `cache.add` starts a window's counter and `cache.incr` counts in it. The
cache is shared by every process of the instance (config.settings CACHES: Redis, where both are
atomic; files under var/ on one machine, where two requests at the same instant may count as
one, so a limit can be passed by a request or two, never multiplied by the processes). Each key
remembers when its window ends, for Retry-After.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.core.cache import cache

_PREFIX = "civicdesk.portal.throttle"


def _key(scope: str, subject: str) -> str:
    # Hashed: an address or a client address is never written to the cache as it is.
    return f"{_PREFIX}:{scope}:{hashlib.sha256(subject.encode()).hexdigest()[:32]}"


def hit(*, scope: str, subject: str, limit: int, window: int) -> float | None:
    """Count one request by `subject` in `scope`; None when within `limit` requests per
    `window` seconds, else the seconds until the window ends (for Retry-After)."""
    key = _key(scope, subject)
    ends = time.time() + window
    if cache.add(key, 1, timeout=window):
        cache.set(f"{key}:ends", ends, timeout=window)
        return None
    try:
        count = cache.incr(key)
    except ValueError:  # the window ended between add and incr: a new one starts
        cache.set(key, 1, timeout=window)
        cache.set(f"{key}:ends", ends, timeout=window)
        return None
    if count <= limit:
        return None
    ending = cache.get(f"{key}:ends") or ends
    return max(1.0, float(ending) - time.time())


def retry_after_header(seconds: float) -> str:
    return str(math.ceil(seconds))
