"""The console channel package: the registry finds `ADAPTER` here."""

from civicdesk.channels.adapters.console.adapter import ConsoleAdapter

ADAPTER = ConsoleAdapter

__all__ = ["ADAPTER", "ConsoleAdapter"]
