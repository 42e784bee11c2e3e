"""What ties an idempotency key (a provider id, the API's `external_id`) to its body."""

from __future__ import annotations

import hashlib
import json

from civicdesk.channels.contracts import RawPayload


def body_digest(raw: RawPayload) -> str:
    """sha256 of the body's canonical JSON (keys sorted, no insignificant spaces, text kept
    as UTF-8), so that the same contact serialised differently is the same body; of the bytes
    themselves when the body is not JSON."""
    body = bytes(raw.body)
    if "json" in (raw.content_type or "").lower():
        try:
            parsed = json.loads(body)
        except ValueError:
            pass
        else:
            canonical = json.dumps(
                parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False
            )
            body = canonical.encode("utf-8", errors="surrogatepass")
    return hashlib.sha256(body).hexdigest()
