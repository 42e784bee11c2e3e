"""Account settings: validated by the adapter's schema, secrets encrypted at rest."""

import importlib

import pytest
from cryptography.fernet import Fernet
from django.apps import apps as django_apps
from django.test import override_settings
from pydantic import SecretStr

from civicdesk.channels import secrets
from civicdesk.channels.account_forms import PREFIX, ChannelAccountForm
from civicdesk.channels.accounts import (
    InvalidAccountSettings,
    account_config,
    configure_account,
    rotate_account_secrets,
)
from civicdesk.channels.adapters.email.config import EmailConfig
from civicdesk.channels.models import ChannelAccount
from civicdesk.channels.registry import adapter_for
from civicdesk.channels.tests.sms_acme.config import AcmeSmsConfig

pytestmark = pytest.mark.django_db

SETTINGS = {
    "from_number": "+447700900001",
    "base_url": "http://127.0.0.1:9",
    "api_key": "key-1",
    "webhook_secret": "whsec-1",
}


def _account() -> ChannelAccount:
    account = ChannelAccount.objects.create(kind="sms_acme", name="Main number")
    configure_account(account=account, values=SETTINGS)
    return account


def test_secrets_are_stored_encrypted_and_read_back_typed() -> None:
    account = _account()
    account.refresh_from_db()
    assert account.config == {"from_number": "+447700900001", "base_url": "http://127.0.0.1:9"}
    assert "key-1" not in account.secrets_encrypted
    assert "whsec-1" not in account.secrets_encrypted
    config = account_config(adapter=adapter_for("sms_acme"), account=account)
    assert isinstance(config, AcmeSmsConfig)
    assert config.api_key == SecretStr("key-1")
    assert config.webhook_secret == SecretStr("whsec-1")
    assert config.verify_token is None


def test_a_blank_secret_keeps_the_current_one() -> None:
    account = _account()
    configure_account(account=account, values={**SETTINGS, "api_key": "", "from_number": "+1"})
    config = account_config(adapter=adapter_for("sms_acme"), account=account)
    assert isinstance(config, AcmeSmsConfig)
    assert config.api_key == SecretStr("key-1")
    assert config.from_number == "+1"


def test_invalid_settings_change_nothing() -> None:
    account = _account()
    before = (account.config, account.secrets_encrypted)
    with pytest.raises(InvalidAccountSettings) as refused:
        configure_account(account=account, values={**SETTINGS, "unknown": "x"})
    assert refused.value.errors == {"unknown": "Extra inputs are not permitted"}
    account.refresh_from_db()
    assert (account.config, account.secrets_encrypted) == before


def test_keys_rotate_without_losing_secrets() -> None:
    old_key = Fernet.generate_key().decode()
    new_key = Fernet.generate_key().decode()
    with override_settings(CIVICDESK_ENCRYPTION_KEYS=[old_key]):
        account = _account()
    with override_settings(CIVICDESK_ENCRYPTION_KEYS=[new_key, old_key]):
        assert rotate_account_secrets() == 1
    account.refresh_from_db()
    with override_settings(CIVICDESK_ENCRYPTION_KEYS=[new_key]):
        config = account_config(adapter=adapter_for("sms_acme"), account=account)
        assert isinstance(config, AcmeSmsConfig)
        assert config.webhook_secret == SecretStr("whsec-1")
    with (
        override_settings(CIVICDESK_ENCRYPTION_KEYS=[old_key]),
        pytest.raises(secrets.SecretsUnreadable),
    ):
        account_config(adapter=adapter_for("sms_acme"), account=account)


def test_the_default_key_is_derived_from_the_secret_key() -> None:
    token = secrets.encrypt_secrets({"api_key": "k"})
    with (
        override_settings(SECRET_KEY="another-secret-key-entirely"),
        pytest.raises(secrets.SecretsUnreadable),
    ):
        secrets.decrypt_secrets(token)
    assert secrets.decrypt_secrets(token) == {"api_key": "k"}


def test_the_admin_form_is_built_from_the_schema_and_never_shows_secrets() -> None:
    account = _account()
    form = ChannelAccountForm(instance=account)
    assert set(form.fields) == {
        "kind",
        "name",
        "is_active",
        *(
            PREFIX + name
            for name in ("from_number", "base_url", "api_key", "webhook_secret", "verify_token")
        ),
    }
    html = form.as_p()
    assert "key-1" not in html
    assert "whsec-1" not in html
    assert account.secrets_encrypted not in html
    assert "+447700900001" in html

    data = {
        "name": "Main number",
        "is_active": "on",
        PREFIX + "from_number": "+447700900002",
        PREFIX + "base_url": "http://127.0.0.1:9",
        PREFIX + "api_key": "",
        PREFIX + "webhook_secret": "whsec-2",
        PREFIX + "verify_token": "",
    }
    form = ChannelAccountForm(instance=account, data=data)
    assert form.is_valid(), form.errors
    form.save()
    account.refresh_from_db()
    config = account_config(adapter=adapter_for("sms_acme"), account=account)
    assert isinstance(config, AcmeSmsConfig)
    assert config.api_key == SecretStr("key-1")
    assert config.webhook_secret == SecretStr("whsec-2")
    assert config.from_number == "+447700900002"


def test_the_admin_form_edits_lists_one_per_line_and_choices_from_the_schema() -> None:
    account = ChannelAccount(kind="email", name="Help desk")
    data = {
        "kind": "email",
        "name": "Help desk",
        "is_active": "on",
        PREFIX + "address": "Help@Riverton.example",
        PREFIX + "aliases": "info@riverton.example\n\n  contact@riverton.example \n",
        PREFIX + "attachment_types": "image/*\napplication/pdf",
        PREFIX + "smtp_security": "tls",
        PREFIX + "smtp_port": "465",
        PREFIX + "smtp_timeout_seconds": "12.5",
        PREFIX + "max_message_bytes": "1048576",
        PREFIX + "max_attachment_bytes": "1024",
    }
    form = ChannelAccountForm(instance=account, data=data)
    assert form.is_valid(), form.errors
    form.save()
    config = account_config(adapter=adapter_for("email"), account=account)
    assert isinstance(config, EmailConfig)
    assert config.identities() == (
        "help@riverton.example",
        "info@riverton.example",
        "contact@riverton.example",
    )
    assert (config.smtp_security, config.smtp_port, config.smtp_timeout_seconds) == (
        "tls",
        465,
        12.5,
    )
    html = ChannelAccountForm(instance=account).as_p()
    assert "info@riverton.example\ncontact@riverton.example</textarea>" in html
    bad = ChannelAccountForm(instance=account, data={**data, PREFIX + "smtp_security": "ssl3"})
    assert not bad.is_valid()
    assert PREFIX + "smtp_security" in bad.errors


LOST_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_after_a_lost_key_re_entering_every_secret_repairs_the_account() -> None:
    with override_settings(CIVICDESK_ENCRYPTION_KEYS=[LOST_KEY]):
        account = _account()
    with override_settings(CIVICDESK_ENCRYPTION_KEYS=[NEW_KEY]):
        account.refresh_from_db()
        before = account.secrets_encrypted
        with pytest.raises(InvalidAccountSettings) as refused:
            configure_account(account=account, values={**SETTINGS, "verify_token": ""})
        assert refused.value.errors == {
            "verify_token": "Enter this secret again: the stored value cannot be decrypted."
        }
        account.refresh_from_db()
        assert account.secrets_encrypted == before
        configure_account(account=account, values={**SETTINGS, "verify_token": "v-2"})
        account.refresh_from_db()
        config = account_config(adapter=adapter_for("sms_acme"), account=account)
        assert isinstance(config, AcmeSmsConfig)
        assert (config.webhook_secret, config.api_key, config.verify_token) == (
            SecretStr("whsec-1"),
            SecretStr("key-1"),
            SecretStr("v-2"),
        )


def test_the_data_migration_encrypts_secrets_left_in_plain_config() -> None:
    migration = importlib.import_module(
        "civicdesk.channels.migrations.0008_encrypt_plaintext_config_secrets"
    )
    old = ChannelAccount.objects.create(
        kind="sms_acme",
        name="Before encryption",
        config={"from_number": "+447700900001", "api_key": "key-plain", "webhook_secret": ""},
    )
    current = _account()
    current_token = current.secrets_encrypted
    unknown = ChannelAccount.objects.create(kind="gone", name="X", config={"api_key": "k"})
    migration.encrypt_plaintext_secrets(django_apps, None)
    old.refresh_from_db()
    current.refresh_from_db()
    unknown.refresh_from_db()
    assert old.config == {"from_number": "+447700900001"}
    assert secrets.decrypt_secrets(old.secrets_encrypted) == {"api_key": "key-plain"}
    assert (current.config, current.secrets_encrypted) == (
        {"from_number": "+447700900001", "base_url": "http://127.0.0.1:9"},
        current_token,
    )
    assert (unknown.config, unknown.secrets_encrypted) == ({"api_key": "k"}, "")
