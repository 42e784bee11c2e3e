"""Account settings for the portal channel: it needs none."""

from civicdesk.channels.config import AccountConfig


class PortalConfig(AccountConfig):
    """No settings: the portal channel has no provider."""
