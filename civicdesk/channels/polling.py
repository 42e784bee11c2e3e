"""Polled channels: fetch what arrived on each account and store it like a webhook would.

Nothing is lost on a crash: every payload is stored (`accept_stored`, deduplicated by
provider id, with the receipts it carries) before the account's cursor moves, so a poll
interrupted in between fetches the same payloads again and the duplicates are recognised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from civicdesk.channels import registry
from civicdesk.channels.accounts import account_config
from civicdesk.channels.models import ChannelAccount
from civicdesk.channels.receiving import accept_stored
from civicdesk.core.clock import now

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollReport:
    accounts_polled: int
    payloads_stored: int
    errors: int


def poll_accounts() -> PollReport:
    """Poll every active account whose adapter polls. An account's error is logged and
    recorded on it (`last_poll_error`), never raised: the other accounts are still polled.

    Costs: one provider round trip per account, one insert per new payload.
    """
    kinds = [kind for kind, adapter in registry.adapters().items() if adapter.polls]
    polled = stored = errors = 0
    for account in ChannelAccount.objects.filter(is_active=True, kind__in=kinds):
        polled += 1
        adapter = registry.adapter_for(account.kind)
        try:
            config = account_config(adapter=adapter, account=account)
            result = adapter.poll(config, account.poll_cursor)
            for raw in result.payloads:
                acceptance = accept_stored(
                    channel=account.kind, raw=raw, account=account, verified=True
                )
                stored += 0 if acceptance.is_duplicate else 1
        except Exception as exc:
            errors += 1
            logger.exception("Polling %s account %s failed", account.kind, account.pk)
            account.last_polled_at = now()
            account.last_poll_error = f"{type(exc).__name__}: {exc}"
            account.save(update_fields=["last_polled_at", "last_poll_error", "updated_at"])
            continue
        account.poll_cursor = result.cursor
        account.last_polled_at = now()
        account.last_poll_error = ""
        account.save(
            update_fields=["poll_cursor", "last_polled_at", "last_poll_error", "updated_at"]
        )
    return PollReport(accounts_polled=polled, payloads_stored=stored, errors=errors)
