"""The portal channel package: the registry finds `ADAPTER` here."""

from civicdesk.channels.adapters.portal.adapter import PortalAdapter

ADAPTER = PortalAdapter

__all__ = ["ADAPTER", "PortalAdapter"]
