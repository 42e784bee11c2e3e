"""The demo city hall's channel accounts: the help desk mailbox on the local SMTP listener."""

from __future__ import annotations

from typing import TYPE_CHECKING

from civicdesk.channels.services import ensure_account

if TYPE_CHECKING:
    from civicdesk.channels.models import ChannelAccount

HELP_DESK_ADDRESS = "help@riverton.example"


def ensure_channel_accounts() -> list[ChannelAccount]:
    """Mail to help@riverton.example, delivered to `civicdesk smtpd` (127.0.0.1:2525 under
    `make run`), opens and joins cases."""
    return [
        ensure_account(
            kind="email",
            name="Riverton help desk",
            values={"address": HELP_DESK_ADDRESS, "from_name": "Riverton City Hall"},
        )
    ]
