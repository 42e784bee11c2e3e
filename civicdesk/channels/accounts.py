"""Channel accounts: their typed settings, with secrets encrypted at rest.

Writes here (`configure_account`, `rotate_account_secrets`), the one read every adapter
call goes through (`account_config`), and the admin's "test connection"
(`check_account_connection`). Costs: one Fernet decryption per call (microseconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr, ValidationError

from civicdesk.channels import registry
from civicdesk.channels.config import AccountConfig
from civicdesk.channels.contracts import ChannelAdapter, ConnectionCheck
from civicdesk.channels.models import ChannelAccount
from civicdesk.channels.secrets import (
    SecretsUnreadable,
    decrypt_secrets,
    encrypt_secrets,
    rotate_token,
)
from civicdesk.core.errors import DomainError


class InvalidAccountSettings(DomainError):
    code = "invalid_account_settings"

    def __init__(self, message: str, errors: Mapping[str, str]) -> None:
        super().__init__(message)
        self.errors = dict(errors)


def account_config(*, adapter: ChannelAdapter, account: ChannelAccount | None) -> AccountConfig:
    """The account's settings as the adapter's typed schema, secrets decrypted (the schema's
    defaults without an account). Raises pydantic's ValidationError for settings stored
    before the schema changed incompatibly: a bug to fix in the account, loudly."""
    if account is None:
        return adapter.config_schema()
    values: dict[str, Any] = dict(account.config)
    values.update(decrypt_secrets(account.secrets_encrypted))
    return adapter.config_schema.model_validate(values)


SETTINGS_STEP = "Account settings"


def check_account_connection(*, account: ChannelAccount) -> tuple[ConnectionCheck, ...]:
    """Try the account's connections with its decrypted settings (its adapter's
    `check_connection`), synchronously and with the settings' own timeouts: for an
    administrator's request, not a loop. Settings that cannot be read are the first, failed,
    step; never raises for what the account holds."""
    try:
        adapter = registry.adapter_for(account.kind)
    except registry.UnknownChannel:
        detail = f"No channel {account.kind!r} is installed: this account cannot be used."
        return (ConnectionCheck(SETTINGS_STEP, ok=False, detail=detail),)
    try:
        config = account_config(adapter=adapter, account=account)
    except SecretsUnreadable:
        detail = (
            "The stored secrets cannot be decrypted with the configured keys: "
            "enter the account's secrets again."
        )
        return (ConnectionCheck(SETTINGS_STEP, ok=False, detail=detail),)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}"
            for error in exc.errors()
        )
        detail = f"The stored settings no longer fit this channel ({problems}): edit and save."
        return (ConnectionCheck(SETTINGS_STEP, ok=False, detail=detail),)
    return adapter.check_connection(config)


def configure_account(
    *, account: ChannelAccount, values: Mapping[str, Any], save: bool = True
) -> AccountConfig:
    """Validate `values` with the account's schema and store them, secrets encrypted.

    A secret field left blank or absent keeps its current value (forms never show secrets
    back). Raises InvalidAccountSettings (field → reason) and changes nothing on bad input.
    """
    schema = registry.adapter_class(account.kind).config_schema
    merged: dict[str, Any] = {
        name: value for name, value in values.items() if value is not None and value != ""
    }
    current = _readable_secrets(account, schema, supplied=merged)
    for name in schema.secret_fields():
        if name not in merged and name in current:
            merged[name] = SecretStr(current[name])
    try:
        config = schema.model_validate(merged)
    except ValidationError as exc:
        errors = {
            ".".join(str(part) for part in error["loc"]) or "__all__": error["msg"]
            for error in exc.errors()
        }
        raise InvalidAccountSettings("The account settings are not valid.", errors) from None
    plain, secrets = config.split()
    account.config = plain
    account.secrets_encrypted = encrypt_secrets(secrets)
    if save:
        account.save(update_fields=["config", "secrets_encrypted", "updated_at"])
    return config


def ensure_account(*, kind: str, name: str, values: Mapping[str, Any]) -> ChannelAccount:
    """The account of `kind` called `name`, created with `values` if it does not exist (an
    existing one is left as an administrator may have changed it). For set-up and the demo."""
    account = ChannelAccount.objects.filter(kind=kind, name=name).first()
    if account is None:
        account = ChannelAccount(kind=kind, name=name)
        configure_account(account=account, values=values, save=False)
        account.save()
    return account


_REENTER = "Enter this secret again: the stored value cannot be decrypted."


def _readable_secrets(
    account: ChannelAccount, schema: type[AccountConfig], *, supplied: Mapping[str, Any]
) -> dict[str, str]:
    """The stored secrets; after a lost encryption key, nothing when every secret field is
    supplied again (the account is repaired by re-entering them), else a field error each."""
    try:
        return decrypt_secrets(account.secrets_encrypted)
    except SecretsUnreadable:
        missing = [name for name in schema.secret_fields() if name not in supplied]
        if missing:
            raise InvalidAccountSettings(
                "The stored secrets cannot be decrypted with the configured keys; "
                "enter every secret again.",
                dict.fromkeys(
                    missing, "Enter this secret again: the stored value cannot be decrypted."
                ),
            ) from None
        return {}


def encrypt_plaintext_secrets(
    *, kind: str, config: Mapping[str, Any], secrets_encrypted: str
) -> tuple[dict[str, Any], str] | None:
    """Settings stored before secrets were encrypted keep them in plain `config`: the new
    (config, secrets_encrypted) with those fields moved into the encrypted token (a value
    already encrypted wins), or None when there is nothing to move or the kind is unknown.
    For the data migration; raises SecretsUnreadable if the stored token cannot be read."""
    try:
        schema = registry.adapter_class(kind).config_schema
    except registry.UnknownChannel:
        return None
    plain = {name: value for name, value in config.items() if name in schema.secret_fields()}
    if not plain:
        return None
    secrets = {name: str(value) for name, value in plain.items() if value not in (None, "")}
    secrets.update(decrypt_secrets(secrets_encrypted))
    rest = {name: value for name, value in config.items() if name not in plain}
    return rest, encrypt_secrets(secrets)


def rotate_account_secrets() -> int:
    """Re-encrypt every account's secrets with the newest key; returns how many changed."""
    changed = 0
    for account in ChannelAccount.objects.exclude(secrets_encrypted=""):
        account.secrets_encrypted = rotate_token(account.secrets_encrypted)
        account.save(update_fields=["secrets_encrypted", "updated_at"])
        changed += 1
    return changed
