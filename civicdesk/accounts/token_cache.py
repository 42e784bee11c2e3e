"""A per-process cache of API token checks, so that an API call does not cost a query.

Keyed by the key's digest (never the key itself), bounded in size (least recently used out
first), and short-lived: an entry answers for `TOKEN_CACHE_SECONDS` (30 s) at most. Revoking
a token through `accounts.services` forgets its entry in this process at once; other processes
(other web workers) stop accepting it when their entry expires, so within the TTL. The same
holds for a user who is deactivated, or whose roles change: other processes see it within the
TTL.

A miss (an unknown or revoked key) is not cached: a wrong key costs its query each time,
which is what a client that is refused would pay anyway, and the cache cannot be filled with
garbage keys.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings

# The default TTL; `CIVICDESK_API_TOKEN_CACHE_SECONDS` overrides it (0 turns the cache off).
TOKEN_CACHE_SECONDS = 30.0
TOKEN_CACHE_SIZE = 1_000


def _ttl() -> float:
    return float(getattr(settings, "CIVICDESK_API_TOKEN_CACHE_SECONDS", TOKEN_CACHE_SECONDS))


@dataclass(frozen=True)
class CachedToken:
    token_id: int
    user_id: int
    expires_at: float  # time.monotonic()


class TokenCache:
    def __init__(self, *, size: int = TOKEN_CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[CachedToken, object]] = OrderedDict()
        self._lock = threading.Lock()
        # Counts forgettings: a lookup that began before one must not cache what it read, or a
        # token revoked while it was being looked up would be put back for a whole TTL.
        self._generation = 0

    def generation(self) -> int:
        """Take before reading a token from the database; give to `put`."""
        return self._generation

    def get(self, key_digest: str) -> tuple[CachedToken, object] | None:
        with self._lock:
            found = self._entries.get(key_digest)
            if found is None:
                return None
            if found[0].expires_at <= time.monotonic():
                del self._entries[key_digest]
                return None
            self._entries.move_to_end(key_digest)
            return found

    def put(
        self,
        key_digest: str,
        *,
        token_id: int,
        user_id: int,
        value: object,
        read_at_generation: int | None = None,
    ) -> None:
        """Remember a token check; not if anything was forgotten since `read_at_generation`
        (the token may be the one revoked, and the read may predate it)."""
        ttl = _ttl()
        if ttl <= 0:
            return
        entry = CachedToken(token_id=token_id, user_id=user_id, expires_at=time.monotonic() + ttl)
        with self._lock:
            if read_at_generation is not None and read_at_generation != self._generation:
                return
            self._entries[key_digest] = (entry, value)
            self._entries.move_to_end(key_digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)  # the least recently used

    def forget(self, key_digest: str) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(key_digest, None)

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            self._generation += 1
            for key in [k for k, (entry, _) in self._entries.items() if entry.user_id == user_id]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key_digest: object) -> bool:
        return key_digest in self._entries


tokens = TokenCache()
