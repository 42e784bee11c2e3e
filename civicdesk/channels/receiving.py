"""Storing what a channel's own listener received or a poll fetched, receipts included.

A webhook's receipts are recorded by the webhook endpoint (channels.webhooks); mail that
arrives over SMTP or from a mailbox carries them too (a bounce is a delivery status report
about one of our messages). `accept_stored` is `accept_inbound` for those paths: the payload is
stored (always, and visible: a payload carrying only receipts is stored as processed, it opens
no case and nothing answers it) and its receipts are recorded against the account's
deliveries in the same transaction, so that a failure leaves neither (the listener answers a
temporary failure and the sender tries again; a poll fetches it again).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction

from civicdesk.channels import registry
from civicdesk.channels.contracts import DeliveryReceipt, InvalidPayload, RawPayload
from civicdesk.channels.models import ChannelAccount
from civicdesk.channels.receipts import record_receipts

if TYPE_CHECKING:
    from civicdesk.channels.services import Acceptance

logger = logging.getLogger(__name__)


def accept_stored(
    *, channel: str, raw: RawPayload, account: ChannelAccount | None, verified: bool = False
) -> Acceptance:
    """Store `raw` (see `accept_inbound`) and record the receipts it carries. Costs what
    `accept_inbound` costs when it carries none (no transaction is added); otherwise one
    transaction around the store and one query per receipt."""
    # Imported here: channels.services imports the polling that calls this.
    from civicdesk.channels.services import accept_inbound

    receipts = read_receipts(channel, raw)
    if not receipts:
        return accept_inbound(channel=channel, raw=raw, account=account, verified=verified)
    with transaction.atomic():
        acceptance = accept_inbound(channel=channel, raw=raw, account=account, verified=verified)
        if not acceptance.is_duplicate:
            record_receipts(channel=channel, account=account, receipts=receipts)
    return acceptance


def read_receipts(
    channel: str, raw: RawPayload, *, source: str = "payload"
) -> tuple[DeliveryReceipt, ...]:
    """The payload's receipts; unreadable ones are logged (the payload itself is kept)."""
    try:
        return tuple(registry.adapter_for(channel).parse_receipt(raw))
    except InvalidPayload as exc:
        logger.warning("Unreadable receipts in a %s %s (payload stored): %s", channel, source, exc)
    except Exception:
        logger.exception("The %s adapter failed reading receipts (payload stored)", channel)
    return ()
