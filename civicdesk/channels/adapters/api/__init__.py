"""The api channel package: the registry finds `ADAPTER` here."""

from civicdesk.channels.adapters.api.adapter import ApiAdapter

ADAPTER = ApiAdapter

__all__ = ["ADAPTER", "ApiAdapter"]
