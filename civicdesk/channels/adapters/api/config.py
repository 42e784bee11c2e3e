"""Account settings for the api channel: it needs none."""

from civicdesk.channels.config import AccountConfig


class ApiConfig(AccountConfig):
    """No settings: the api channel has no provider."""
