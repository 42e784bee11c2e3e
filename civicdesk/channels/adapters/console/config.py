"""Account settings for the console channel: it needs none."""

from civicdesk.channels.config import AccountConfig


class ConsoleConfig(AccountConfig):
    """No settings: the console channel has no provider."""
