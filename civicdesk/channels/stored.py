"""A stored payload read again in full: by the workers, and when a failed one is replayed.

A payload admitted on its adapter's sketch (`ChannelAdapter.sketch`) was not read in full when
it was stored; the worker's read is the first, and what the intake would have recorded for a
payload it cannot read (failed, "Invalid payload: ..."; or processed, for one that carries
only receipts) is recorded by the worker instead.
"""

from __future__ import annotations

import logging

from civicdesk.channels import registry
from civicdesk.channels.contracts import InboundMessage, InvalidPayload, NoMessage, RawPayload
from civicdesk.channels.models import InboundPayload
from civicdesk.core.errors import DomainError

logger = logging.getLogger(__name__)


def parse_stored_payload(payload: InboundPayload) -> InboundMessage:
    raw = RawPayload(
        body=bytes(payload.body),
        content_type=payload.content_type,
        headers=payload.headers,
    )
    return registry.adapter_for(payload.channel).parse_inbound(raw)


class UnreadablePayload(DomainError):
    """A stored payload its adapter cannot read (one admitted on a sketch, read in full by the
    worker): recorded failed with the same "Invalid payload: ..." reason the intake records for
    one it cannot read, which `replay_payload` knows to parse again."""


def read_stored_payload(payload: InboundPayload) -> InboundMessage | None:
    """The stored payload parsed in full; None when it carries no citizen message (receipts
    only: a bounce, which the intake would have stored as processed). Raises
    UnreadablePayload when the adapter cannot read it."""
    try:
        return parse_stored_payload(payload)
    except NoMessage:
        return None
    except InvalidPayload as exc:
        raise UnreadablePayload(f"Invalid payload: {exc}") from exc
    except Exception as exc:
        logger.exception("Adapter %s could not read payload %s", payload.channel, payload.pk)
        raise UnreadablePayload(f"Invalid payload: could not be read ({exc!r})") from exc
