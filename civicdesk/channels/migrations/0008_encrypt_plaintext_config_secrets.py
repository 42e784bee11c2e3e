"""Accounts configured before secrets were encrypted (0002) still hold them in plain `config`:
move every secret field of the adapter's schema into `secrets_encrypted`."""

from django.db import migrations


def encrypt_plaintext_secrets(apps, schema_editor):
    from civicdesk.channels.accounts import encrypt_plaintext_secrets as split

    account_model = apps.get_model("contact_channels", "ChannelAccount")
    for account in account_model.objects.all():
        moved = split(
            kind=account.kind, config=account.config, secrets_encrypted=account.secrets_encrypted
        )
        if moved is not None:
            account.config, account.secrets_encrypted = moved
            account.save(update_fields=["config", "secrets_encrypted"])


class Migration(migrations.Migration):
    dependencies = [
        ("contact_channels", "0007_payload_dedupe_per_account"),
    ]

    operations = [
        migrations.RunPython(encrypt_plaintext_secrets, migrations.RunPython.noop),
    ]
