"""Channels that listen on a socket of their own (email over SMTP): the framework's side.

`AccountIntake` is what a listener calls: which active account an address belongs to (read
from the accounts' own identities, cached for a few seconds so that a burst of mail costs no
query per recipient), and the durable store (`accept_stored`: the payload and the receipts a
bounce carries) that must succeed before the sender is told the message was accepted. Both run
in the listener's threads, so each call begins and ends like a request: stale database
connections are closed.
"""

from __future__ import annotations

import logging
import threading
import time

from django.db import close_old_connections

from civicdesk.channels import registry
from civicdesk.channels.accounts import account_config
from civicdesk.channels.contracts import (
    Listener,
    ListenerAccount,
    ListenerVerdict,
    RawPayload,
)
from civicdesk.channels.models import ChannelAccount
from civicdesk.channels.receiving import accept_stored

logger = logging.getLogger(__name__)

# How long the address → account map is trusted before the accounts are read again.
ACCOUNTS_TTL_SECONDS = 5.0


class AccountIntake:
    """The intake for one channel kind's listener (see contracts.ListenerIntake)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.adapter = registry.adapter_for(kind)
        self._lock = threading.Lock()
        self._read_at = 0.0
        self._accounts: dict[str, ListenerAccount] = {}
        # The rows read with them, so that storing a message costs no query to find its
        # account again (a query per message was a tenth of the acknowledgement's time).
        self._rows: dict[int, ChannelAccount] = {}

    def _identities(self) -> dict[str, ListenerAccount]:
        with self._lock:
            if time.monotonic() - self._read_at > ACCOUNTS_TTL_SECONDS:
                found: dict[str, ListenerAccount] = {}
                rows: dict[int, ChannelAccount] = {}
                for account in ChannelAccount.objects.filter(kind=self.kind, is_active=True):
                    rows[account.pk] = account
                    config = account_config(adapter=self.adapter, account=account)
                    for identity in self.adapter.own_identities(config):
                        found.setdefault(identity.casefold(), ListenerAccount(account.pk, config))
                self._accounts, self._rows = found, rows
                self._read_at = time.monotonic()
            return self._accounts

    def _row(self, account_id: int) -> ChannelAccount:
        """The account's row as last read (within the TTL), else from the database."""
        self._identities()
        with self._lock:
            row = self._rows.get(account_id)
        return row if row is not None else ChannelAccount.objects.get(pk=account_id)

    def account_for(self, identity: str) -> ListenerAccount | None:
        close_old_connections()
        try:
            return self._identities().get(identity.casefold())
        finally:
            close_old_connections()

    def accept(self, raw: RawPayload, account: ListenerAccount) -> ListenerVerdict:
        """Store `raw` for `account` (committed when this returns). Raises on a storage fault:
        the listener answers a temporary failure and the sender tries again."""
        close_old_connections()
        try:
            channel_account = self._row(account.account_id)
            acceptance = accept_stored(channel=self.kind, raw=raw, account=channel_account)
            return ListenerVerdict(stored=True, duplicate=acceptance.is_duplicate)
        except ChannelAccount.DoesNotExist:
            return ListenerVerdict(stored=False, reason="the mailbox was just removed")
        finally:
            close_old_connections()


def start_listener(*, kind: str, host: str, port: int) -> Listener:
    """Start `kind`'s listener on host:port, storing through the framework; returns it."""
    listener = registry.adapter_for(kind).listener(host=host, port=port, intake=AccountIntake(kind))
    listener.start()
    logger.info("%s listener on %s:%s", kind, host, port)
    return listener
