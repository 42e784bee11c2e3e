"""Account settings schemas: what each adapter needs to know about one configured account.

Each adapter declares a pydantic model (subclass of `AccountConfig`) as its `config_schema`.
Secret fields are `SecretStr`: the framework stores them encrypted at rest, never shows them
back in the admin, and hands the adapter a typed, decrypted instance in verify, send and poll.
Adapters may import this module (it imports neither the ORM nor any model).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr


class AccountConfig(BaseModel):
    """The settings of an account on a channel that needs none. Subclass and add fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        """Names of the fields kept encrypted at rest (declared as `SecretStr`)."""
        return tuple(
            name
            for name, info in cls.model_fields.items()
            if info.annotation is SecretStr or info.annotation == (SecretStr | None)
        )

    @classmethod
    def plain_fields(cls) -> tuple[str, ...]:
        secret = set(cls.secret_fields())
        return tuple(name for name in cls.model_fields if name not in secret)

    def split(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(plain settings as JSON values, secrets in clear) — the framework stores them apart."""
        plain = self.model_dump(mode="json", include=set(self.plain_fields()))
        secrets: dict[str, str] = {}
        for name in self.secret_fields():
            value = getattr(self, name)
            if value is not None:
                secrets[name] = value.get_secret_value()
        return plain, secrets
