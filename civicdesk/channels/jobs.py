"""The channel platform's periodic jobs (see docs/how-to/add-a-periodic-job.md) and its work
loop, run by `civicdesk worker` (see core.loops)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from civicdesk.channels.services import poll_accounts, process_waiting, sweep
from civicdesk.channels.webhooks import forget_old_replay_keys
from civicdesk.core.loops import work_loop
from civicdesk.core.periodic import periodic_job


@periodic_job(every=timedelta(seconds=15), name="channels.sweep")
def sweep_left_behind() -> None:
    """Set going payloads and deliveries left behind, retries that are due, and throttled
    payloads whose sender's window has passed. Every 15 s: with the 30 s sending lease, a
    delivery left by a dead worker is taken over within 45 s."""
    sweep()


@periodic_job(every=timedelta(minutes=5), name="channels.forget_replay_keys")
def forget_replay_keys() -> None:
    """Forget webhook replay keys too old to matter (kept for twice the freshness window)."""
    forget_old_replay_keys()


@periodic_job(every=timedelta(minutes=1), name="channels.poll")
def poll_channel_accounts() -> None:
    """Fetch what arrived on every polled channel account (email accounts with an IMAP server
    among them); one that is still being polled (a catch-up) is left to its poller."""
    poll_accounts()


@work_loop(name="channels.ingest", idle=0.2)
def ingest_waiting_payloads() -> int:
    """Turn stored payloads into case work, a batch at a time (CIVICDESK_INGEST_BATCH_SIZE), in
    arrival order per sender."""
    return process_waiting(limit=settings.CIVICDESK_INGEST_BATCH_SIZE)
