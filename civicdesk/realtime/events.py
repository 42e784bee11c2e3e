"""Typed events: what happened, in the past tense, as a frozen dataclass with a JSON form.

Each domain app declares its events in its own `events` module by subclassing `Event` with a
kind, e.g. ``class CaseOpened(CaseChange, kind="case.opened")``. Declaring the class registers
the kind: `event_from_data` can then rebuild any event from what was stored or sent, and
`publish` (in `realtime.publish`) sends it to the workspace after commit.

Fields hold JSON values only (str, int, float, bool, None, tuples and lists of those, nested
dataclasses of those), so `to_data()` is plain JSON and `from_data()` gives the same event back.
`from_data()` validates strictly: a string where a number belongs, a missing field or an unknown
one is an `InvalidEventData`, never a silently wrong event. Validation uses pydantic's
`TypeAdapter` (built once per class), which costs a few microseconds per event.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import pydantic

from civicdesk.core.errors import DomainError

_KINDS: dict[str, type[Event]] = {}


class UnknownEventKind(DomainError):
    """No event class declares this kind (a typo, or an app that is not installed)."""


class InvalidEventData(DomainError):
    """The data does not fit the event's fields: wrong types, missing or unknown fields."""


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every typed event. Subclasses are frozen, keyword-only dataclasses.

    Declare the kind as a class keyword: ``class NoteAdded(CaseChange, kind="case.note.added")``.
    A class without one (a shared base such as `CaseChange`) is abstract and not registered.
    """

    __pydantic_config__ = pydantic.ConfigDict(extra="forbid")
    kind: ClassVar[str] = ""

    def __init_subclass__(cls, *, kind: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not kind:
            return
        if kind in _KINDS and _KINDS[kind].__qualname__ != cls.__qualname__:
            raise TypeError(f"Event kind {kind!r} is declared twice: {_KINDS[kind]} and {cls}")
        cls.kind = kind
        _KINDS[kind] = cls

    def to_data(self) -> dict[str, Any]:
        """The fields as JSON-ready values (tuples become lists)."""
        data: dict[str, Any] = _adapter(type(self)).dump_python(self, mode="json")
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        """The event back from `to_data()`'s output; `InvalidEventData` if it does not fit."""
        if not cls.kind:
            raise UnknownEventKind(f"{cls.__name__} is an abstract event: it has no kind")
        try:
            event: Self = _adapter(cls).validate_json(json.dumps(dict(data)), strict=True)
        except (pydantic.ValidationError, TypeError, ValueError) as exc:
            raise InvalidEventData(f"Not a valid {cls.kind} event: {exc}") from exc
        return event


_ADAPTERS: dict[type[Event], pydantic.TypeAdapter[Any]] = {}


def _adapter(cls: type[Event]) -> pydantic.TypeAdapter[Any]:
    """Built once per class (the first use costs a millisecond or so)."""
    if cls not in _ADAPTERS:
        _ADAPTERS[cls] = pydantic.TypeAdapter(cls)
    return _ADAPTERS[cls]


def event_class(kind: str) -> type[Event]:
    """The class declaring `kind`. Raises `UnknownEventKind`."""
    try:
        return _KINDS[kind]
    except KeyError:
        raise UnknownEventKind(f"No event is declared with kind {kind!r}") from None


def event_from_data(kind: str, data: Mapping[str, Any]) -> Event:
    """Rebuild a stored or received event of any registered kind."""
    return event_class(kind).from_data(data)


def registered_kinds() -> list[str]:
    """Every kind declared so far (apps declare theirs when their `events` module is imported)."""
    return sorted(_KINDS)
