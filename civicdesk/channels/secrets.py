"""Account secrets encrypted at rest (Fernet, through MultiFernet for key rotation).

Keys come from the setting `CIVICDESK_ENCRYPTION_KEYS` (a list of Fernet keys, newest first).
Without it, one key is derived from SECRET_KEY (HKDF-SHA256), so a fresh installation encrypts
from the start; set explicit keys in production so that rotating SECRET_KEY does not make the
stored secrets unreadable. Rotation: put the new key first, keep the old ones after it, run
`rotate_account_secrets()` (re-encrypts with the first key), then drop the old keys.
See docs/adr/0007-channel-account-secrets-are-encrypted-at-rest.md.
"""

from __future__ import annotations

import base64
import functools
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretsUnreadable(RuntimeError):
    """Stored secrets that none of the configured keys decrypts (a key was dropped too soon)."""


def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from SECRET_KEY, for installations that set no explicit keys."""
    raw = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"civicdesk-channel-secrets", info=b"fernet"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)


@functools.cache
def _cipher(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    fernets = [Fernet(key.encode()) for key in keys] or [Fernet(derived_key(secret_key))]
    return MultiFernet(fernets)


def cipher() -> MultiFernet:
    from django.conf import settings

    keys = tuple(getattr(settings, "CIVICDESK_ENCRYPTION_KEYS", ()) or ())
    return _cipher(keys, settings.SECRET_KEY)


def encrypt_secrets(values: dict[str, str]) -> str:
    """An opaque token holding `values`; "" for no secrets."""
    if not values:
        return ""
    return cipher().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt_secrets(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return dict(json.loads(cipher().decrypt(token.encode())))
    except InvalidToken:
        raise SecretsUnreadable(
            "No configured encryption key decrypts this account's secrets "
            "(CIVICDESK_ENCRYPTION_KEYS must keep old keys until secrets are rotated)."
        ) from None


def rotate_token(token: str) -> str:
    """The same secrets encrypted with the newest key."""
    return cipher().rotate(token.encode()).decode() if token else ""
