"""The email channel package: the registry finds `ADAPTER` here."""

from civicdesk.channels.adapters.email.adapter import EmailAdapter

ADAPTER = EmailAdapter

__all__ = ["ADAPTER", "EmailAdapter"]
