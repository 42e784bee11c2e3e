"""Polled channels: fetch what arrived on each account and store it like a webhook would.

Nothing is lost on a crash: the adapter hands every payload to the intake, which stores it
(`accept_stored`: deduplicated by provider id, with the receipts it carries) before the
account's cursor moves (`checkpoint`), so a poll interrupted in between fetches the same
payloads again and the duplicates are recognised. Adapters that poll in batches (email over
IMAP) checkpoint after each: a mailbox with thousands of waiting messages is caught up over as
many polls as it takes, and how far it has come is kept on the account (`poll_progress`).

One poller at a time per account: a poll holds the account by a lease
(`poll_lease_until`, renewed at every checkpoint); a second poller finds it held and leaves
it. A poller that died leaves the lease to run out (POLL_LEASE), then the next poll takes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db.models import Q

from civicdesk.channels import registry
from civicdesk.channels.accounts import account_config
from civicdesk.channels.contracts import ListenerVerdict, PollProgress, RawPayload
from civicdesk.channels.models import ChannelAccount
from civicdesk.channels.receiving import accept_stored
from civicdesk.core.clock import now

logger = logging.getLogger(__name__)

# How long a poll holds its account without a checkpoint: longer than one batch takes.
POLL_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class PollReport:
    accounts_polled: int
    payloads_stored: int
    errors: int


@dataclass(frozen=True)
class AccountPoll:
    """One poll of one account: how far it came, and its error ("" when it finished)."""

    progress: PollProgress
    error: str = ""
    # Another poller held the account: nothing was fetched.
    busy: bool = False


class PollLeaseLost(Exception):
    """The poll's lease on its account ran out and another poller took the account."""


class _Intake:
    """The PollIntake of one poll: stores through the framework, saves checkpoints."""

    def __init__(
        self,
        account: ChannelAccount,
        lease: datetime,
        on_progress: Callable[[PollProgress], None] | None,
    ) -> None:
        self.account = account
        self.lease = lease
        self.on_progress = on_progress
        self.progress = PollProgress()

    def store(self, raw: RawPayload) -> ListenerVerdict:
        acceptance = accept_stored(
            channel=self.account.kind, raw=raw, account=self.account, verified=True
        )
        self.progress = replace(
            self.progress,
            fetched=self.progress.fetched + 1,
            stored=self.progress.stored + (0 if acceptance.is_duplicate else 1),
        )
        return ListenerVerdict(stored=True, duplicate=acceptance.is_duplicate)

    def checkpoint(self, cursor: str, *, waiting: int | None = None) -> PollProgress:
        self.progress = replace(self.progress, waiting=waiting)
        renewed = now() + POLL_LEASE
        saved = ChannelAccount.objects.filter(
            pk=self.account.pk, poll_lease_until=self.lease
        ).update(
            poll_cursor=cursor,
            poll_progress=_progress_json(self.progress, done=False),
            poll_lease_until=renewed,
            last_polled_at=now(),
        )
        if not saved:
            # Our lease ran out and another poller holds the account: it goes on from the
            # last checkpoint; this poll stops (what it stored stays, held once).
            raise PollLeaseLost("another poll took the account over; this one stopped")
        self.lease = renewed
        self.account.poll_cursor = cursor
        if self.on_progress is not None:
            self.on_progress(self.progress)
        return self.progress


def _progress_json(progress: PollProgress, *, done: bool) -> dict[str, object]:
    return {
        "fetched": progress.fetched,
        "stored": progress.stored,
        "waiting": progress.waiting,
        "done": done,
        "at": now().isoformat(),
    }


def _claim(account: ChannelAccount) -> datetime | None:
    """Hold `account` for a poll; its lease (the holder's token), or None when held."""
    moment = now()
    lease = moment + POLL_LEASE
    claimed = (
        ChannelAccount.objects.filter(pk=account.pk)
        .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lt=moment))
        .update(poll_lease_until=lease)
    )
    return lease if claimed else None


def poll_account(
    *, account: ChannelAccount, on_progress: Callable[[PollProgress], None] | None = None
) -> AccountPoll:
    """Poll one account until its adapter has fetched all that waits (or fails). A fault is
    recorded on the account (`last_poll_error`) and returned, never raised: the next poll
    resumes from the last checkpoint. `on_progress` hears of every checkpoint.

    Costs: the adapter's round trips, one INSERT per payload, one UPDATE per checkpoint.
    """
    lease = _claim(account)
    if lease is None:
        return AccountPoll(progress=PollProgress(), busy=True)
    adapter = registry.adapter_for(account.kind)
    account.refresh_from_db(fields=["poll_cursor"])
    intake = _Intake(account, lease, on_progress)
    error = ""
    try:
        config = account_config(adapter=adapter, account=account)
        adapter.poll_into(config, account.poll_cursor, intake)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        logger.warning("Polling %s account %s failed: %s", account.kind, account.pk, error)
    except BaseException:
        # Ctrl+C, a process told to stop: give the account back now, not when the lease ends.
        _finish(account, intake, error="The poll was interrupted; the next poll goes on.")
        raise
    _finish(account, intake, error=error)
    return AccountPoll(progress=intake.progress, error=error)


def _finish(account: ChannelAccount, intake: _Intake, *, error: str) -> None:
    ChannelAccount.objects.filter(pk=account.pk, poll_lease_until=intake.lease).update(
        last_polled_at=now(),
        last_poll_error=error,
        poll_progress=_progress_json(intake.progress, done=not error),
        poll_lease_until=None,
        updated_at=now(),
    )


def is_polled(account: ChannelAccount) -> bool:
    """Whether `account` is polled: of a kind that polls, and said so by its adapter (an
    email account with an IMAP server). Costs one decryption."""
    adapter = registry.adapter_for(account.kind)
    if not adapter.polls:
        return False
    try:
        return adapter.polls_account(account_config(adapter=adapter, account=account))
    except Exception:
        logger.exception("Settings of %s account %s unreadable", account.kind, account.pk)
        return True  # polled, so that the error shows on the account


def polled_accounts() -> list[ChannelAccount]:
    """The active accounts that are polled (`is_polled`); one query."""
    kinds = [kind for kind, adapter in registry.adapters().items() if adapter.polls]
    accounts = ChannelAccount.objects.filter(is_active=True, kind__in=kinds)
    return [account for account in accounts if is_polled(account)]


def poll_accounts() -> PollReport:
    """Poll every polled account (see `polled_accounts`) held by no other poller. An
    account's error is recorded on it (`last_poll_error`), never raised: the others are still
    polled."""
    polled = stored = errors = 0
    for account in polled_accounts():
        result = poll_account(account=account)
        if result.busy:
            continue
        polled += 1
        stored += result.progress.stored
        errors += 1 if result.error else 0
    return PollReport(accounts_polled=polled, payloads_stored=stored, errors=errors)
