"""Status links we can write again without knowing the secret: signed, bound to the link's
current generation.

Only the digest of a case's status-link secret is stored (`Case.status_token_digest`), so a
message sent later (a status change, a reply waiting, "resend my link") cannot repeat the raw
link the citizen was given. Two ways out were possible:

- issue a new secret for every message: each notification would silently break the link the
  citizen bookmarked, printed or forwarded to a relative, and anyone typing the citizen's
  address on the "resend my link" page could cut them off from every link they hold;
- sign what we do store: `<case id>.<first 16 hex of the digest>:<signature>` with
  `django.core.signing` (SECRET_KEY, a salt of its own). The signature proves we wrote it;
  the digest prefix ties it to the link's current generation, so re-issuing the secret
  (`issue_status_token`) retires every signed link with the old one, as it retires the old
  raw link. Nothing new is stored, and no existing link breaks.

We sign. A signed link grants exactly what the raw link grants (the status page, a reply,
the public files) and lives as long as it: until the secret is re-issued. The raw secret is
url-safe base64, never holding ":" or ".", so the two never collide. Rotating SECRET_KEY
retires signed links (not raw ones).
"""

from __future__ import annotations

from django.core import signing

_SALT = "civicdesk.cases.status-link"
# 64 bits of the digest: enough to tell one generation of the link from the next (the
# signature, not this, is what makes the link unforgeable).
PREFIX_LENGTH = 16
_SIGNER = signing.Signer(salt=_SALT)


def sign_status_link(*, case_id: int, token_digest: str) -> str:
    """The signed stand-in for the raw secret of a case's status link (url path safe)."""
    return _SIGNER.sign(f"{case_id}.{token_digest[:PREFIX_LENGTH]}")


def is_signed(value: str) -> bool:
    return ":" in value


def read_signed_link(value: str) -> tuple[int, str] | None:
    """(case id, digest prefix) from a signed link we wrote, else None (forged, mangled)."""
    try:
        content = _SIGNER.unsign(value)
    except signing.BadSignature:
        return None
    case_id, _, prefix = content.partition(".")
    if not case_id.isdigit() or len(prefix) != PREFIX_LENGTH:
        return None
    return int(case_id), prefix
