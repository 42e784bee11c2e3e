"""The channel kinds this installation knows, and who handles what the framework produces.

Adapters are discovered, never listed here: every subpackage of `civicdesk.channels.adapters`
whose `__init__` exposes `ADAPTER`, plus each dotted path in the setting
`CIVICDESK_CHANNEL_ADAPTERS` (a module exposing `ADAPTER`, or the adapter class itself).
Discovery runs once per process (cached); `override_adapters` swaps the set for a test.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from civicdesk.channels.contracts import ChannelAdapter, InboundMessage

ADAPTERS_PACKAGE = "civicdesk.channels.adapters"


class UnknownChannel(LookupError):
    pass


class AdapterError(ImportError):
    """A package or dotted path that does not provide a channel adapter."""


def _load(path: str) -> type[ChannelAdapter]:
    """The adapter class at `path`: a module exposing ADAPTER, or `module.ClassName`."""
    try:
        module = importlib.import_module(path)
    except ModuleNotFoundError as exc:
        module_path, _, name = path.rpartition(".")
        if exc.name != path or not module_path:
            # Something the adapter imports is missing (or the path names no module at all).
            raise AdapterError(f"Channel adapter {path!r} cannot be imported: {exc}") from exc
        try:
            found = getattr(importlib.import_module(module_path), name, None)
        except ModuleNotFoundError as missing:
            raise AdapterError(
                f"Channel adapter {path!r} cannot be imported: {missing}"
            ) from missing
    else:
        found = getattr(module, "ADAPTER", None)
    if not (isinstance(found, type) and issubclass(found, ChannelAdapter)):
        raise AdapterError(f"{path!r} does not expose a ChannelAdapter (as ADAPTER)")
    return found


def discover_adapters(extra: tuple[str, ...] = ()) -> dict[str, type[ChannelAdapter]]:
    """Import every adapter package and every extra dotted path; kinds must be unique."""
    package = importlib.import_module(ADAPTERS_PACKAGE)
    paths = [
        f"{ADAPTERS_PACKAGE}.{info.name}"
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name)
        if info.ispkg
    ]
    found: dict[str, type[ChannelAdapter]] = {}
    for path in [*paths, *extra]:
        adapter = _load(path)
        if adapter.kind in found and found[adapter.kind] is not adapter:
            raise AdapterError(f"Two channel adapters claim the kind {adapter.kind!r}")
        found[adapter.kind] = adapter
    return found


@functools.cache
def _discovered() -> dict[str, type[ChannelAdapter]]:
    from django.conf import settings

    return discover_adapters(tuple(getattr(settings, "CIVICDESK_CHANNEL_ADAPTERS", ())))


_override: list[dict[str, type[ChannelAdapter]]] = []


def adapters() -> Mapping[str, type[ChannelAdapter]]:
    return _override[-1] if _override else _discovered()


@contextmanager
def override_adapters(
    *extra: type[ChannelAdapter], only: bool = False
) -> Iterator[Mapping[str, type[ChannelAdapter]]]:
    """For tests: add adapter classes (or, with `only`, use just them) inside the block."""
    base = {} if only else dict(adapters())
    base.update({adapter.kind: adapter for adapter in extra})
    _override.append(base)
    try:
        yield base
    finally:
        _override.remove(base)


def adapter_class(kind: str) -> type[ChannelAdapter]:
    try:
        return adapters()[kind]
    except KeyError:
        raise UnknownChannel(f"No channel adapter for {kind!r}") from None


def adapter_for(kind: str) -> ChannelAdapter:
    return adapter_class(kind)()


def channel_kinds() -> list[tuple[str, str]]:
    return [(kind, adapter.label) for kind, adapter in adapters().items()]


# --- Hooks the domain sets at start-up, so that this framework never imports it -------------


@dataclass(frozen=True)
class InboundOutcome:
    """What the inbound handler made of one message. A handler may also return a bare case
    reference (text); the framework wraps it.

    `automated` is set by the framework when the message said it came from a machine (an
    auto-reply): whatever reads the outcome must not answer it automatically.
    """

    case_reference: str = ""
    opened: bool = False  # a new case was opened
    joined: bool = False  # the message joined an existing case
    details: Mapping[str, Any] | None = None
    automated: bool = False


# The inbound handler turns a message into case work and returns what it produced. It is
# called as `handler(message, payload_id=..., account_id=...)`; loop-protection flags travel on
# the message (`is_automated`). A handler written before `account_id` existed (accepting only
# `payload_id`) is still called, without it.
InboundHandler = Callable[..., "str | InboundOutcome"]
_inbound_handler: InboundHandler | None = None
_handler_takes_account = True
_handler_takes_reference = True


def set_inbound_handler(handler: InboundHandler) -> None:
    global _inbound_handler, _handler_takes_account, _handler_takes_reference  # noqa: PLW0603
    _inbound_handler = handler
    _handler_takes_account = _accepts_keyword(handler, "account_id")
    _handler_takes_reference = _accepts_keyword(handler, "reference")


def inbound_handler() -> InboundHandler:
    if _inbound_handler is None:
        raise RuntimeError("No inbound handler registered: is the cases app installed?")
    return _inbound_handler


def call_inbound_handler(
    message: InboundMessage, *, payload_id: int, account_id: int | None, reference: str = ""
) -> InboundOutcome:
    """Call the registered handler with the agreed keywords; a bare reference is wrapped.

    `reference`: the one the sender was given when the payload was acknowledged (see
    `set_reference_allocator`); a new case opened for the message must take it.
    """
    handler = inbound_handler()
    keywords: dict[str, Any] = {"payload_id": payload_id}
    if _handler_takes_account:
        keywords["account_id"] = account_id
    if _handler_takes_reference and reference:
        keywords["reference"] = reference
    result = handler(message, **keywords)
    if isinstance(result, str):
        return InboundOutcome(case_reference=result)
    return result


@dataclass(frozen=True)
class BatchItem:
    """One stored payload of a worker's batch, parsed, for the batch handler."""

    payload_id: int
    message: InboundMessage
    account_id: int | None
    reference: str


# The batch handler turns many messages into case work at once, with set-based writes: it
# answers the outcome of each item it handled, by payload id, and leaves the others (those it
# cannot handle in bulk, or that fail) to the inbound handler, one by one. Optional.
BatchHandler = Callable[[list[BatchItem]], "dict[int, InboundOutcome]"]
_batch_handler: BatchHandler | None = None


def set_batch_handler(handler: BatchHandler | None) -> None:
    global _batch_handler  # noqa: PLW0603 - one process-wide hook, set once at start-up
    _batch_handler = handler


def batch_handler() -> BatchHandler | None:
    return _batch_handler


def _accepts_keyword(function: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD
        or (p.name == name and p.kind is not inspect.Parameter.POSITIONAL_ONLY)
        for p in parameters
    )


# Allocates the reference a contact is given when it is acknowledged, before any case exists
# (`allocate(at)` -> "RIV-2026-000123"). Set by the domain that numbers cases. It may also
# give the same allocation as an SQL expression (`expression(at)` -> (sql, params), or None
# where the database cannot), which the INSERT storing the payload evaluates itself:
# acknowledging is then one statement, with no transaction around it.
ReferenceAllocator = Callable[[datetime], str]
ReferenceExpression = Callable[[datetime], "tuple[str, list[Any]] | None"]
_reference_allocator: ReferenceAllocator | None = None
_reference_expression: ReferenceExpression | None = None


def set_reference_allocator(
    allocator: ReferenceAllocator | None, *, expression: ReferenceExpression | None = None
) -> None:
    global _reference_allocator, _reference_expression  # noqa: PLW0603 - set once at start-up
    _reference_allocator = allocator
    _reference_expression = expression


def allocate_reference(at: datetime) -> str:
    if _reference_allocator is None:
        raise RuntimeError("No reference allocator registered: is the cases app installed?")
    return _reference_allocator(at)


def reference_expression(at: datetime) -> tuple[str, list[Any]] | None:
    """The allocation as SQL (and its parameters) for the INSERT itself, or None (allocate
    it first)."""
    if _reference_allocator is None:
        raise RuntimeError("No reference allocator registered: is the cases app installed?")
    return _reference_expression(at) if _reference_expression is not None else None


@dataclass(frozen=True)
class FallbackNotice:
    """A delivery could not reach the citizen on its route and the next one was queued.

    `to_delivery_id` is None and `to_channel` "" when the chain is exhausted: nothing more can
    be tried and the citizen has not been reached.
    """

    thread_reference: str
    from_delivery_id: int
    from_channel: str
    to_delivery_id: int | None
    to_channel: str
    reason: str
    # The address that bounced, when a hard bounce moved the reply on ("" otherwise).
    bounced_recipient: str = ""


# Called inside the transaction that records the fallback (so its writes commit with it).
FallbackHandler = Callable[[FallbackNotice], None]
_fallback_handler: FallbackHandler | None = None


def set_fallback_handler(handler: FallbackHandler | None) -> None:
    global _fallback_handler  # noqa: PLW0603 - one process-wide hook, set once at start-up
    _fallback_handler = handler


def fallback_handler() -> FallbackHandler | None:
    """The registered handler, or None (the framework then only records the fallback)."""
    return _fallback_handler


@dataclass(frozen=True)
class UnreachableNotice:
    """A provider said an address cannot be reached at all (a hard bounce: no such mailbox),
    not only that one message failed. `recipient_kind` is the contact-point kind of
    `recipient` (email, phone...)."""

    channel: str
    recipient: str
    recipient_kind: str
    reason: str
    at: datetime
    delivery_id: int
    thread_reference: str


# Called inside the transaction that records the receipt (the domain that keeps contact points
# marks this one undeliverable, so that later messages take the citizen's next channel).
UnreachableHandler = Callable[[UnreachableNotice], None]
_unreachable_handler: UnreachableHandler | None = None


def set_unreachable_handler(handler: UnreachableHandler | None) -> None:
    global _unreachable_handler  # noqa: PLW0603 - one process-wide hook, set once at start-up
    _unreachable_handler = handler


def unreachable_handler() -> UnreachableHandler | None:
    return _unreachable_handler
