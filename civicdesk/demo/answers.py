"""Plausible answers to a service's questions, for historical cases."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from civicdesk.catalogue.models import AttributeDatatype, Service, ServiceAttribute
from civicdesk.demo import people

LONDON = ZoneInfo("Europe/London")
NUMBERS = {
    "depth_cm": (3, 15),
    "item_count": (1, 4),
    "days": (5, 40),
    "rooms": (1, 3),
    "count": (2, 6),
    "household": (1, 5),
}
DATES_AHEAD = {"move_date": (7, 30), "leave_by": (14, 60)}  # days after the request
# Short answers by question code; anything else is answered with an address.
TEXTS: dict[str, Callable[[random.Random, people.Place], str]] = {
    "registration": lambda rng, place: people.registration(rng),
    "column": lambda rng, place: f"RV-{rng.randint(1, 2400):04d}",
    "account": lambda rng, place: f"{rng.randint(10_000_000, 99_999_999)}",
    "business": lambda rng, place: rng.choice(people.BUSINESSES),
    "sign": lambda rng, place: rng.choice(["Give way", "No entry", "30", place.street]),
    "street": lambda rng, place: place.street,
    "about": lambda rng, place: rng.choice(["Bin collections", "Highways", "Contact centre"]),
    "location": lambda rng, place: place.location,
}


def _answer(
    attribute: ServiceAttribute, place: people.Place, at: datetime, rng: random.Random
) -> object:
    keys = [str(value["key"]) for value in attribute.values]
    datatype = attribute.datatype
    if datatype == AttributeDatatype.SINGLE_VALUE_LIST:
        return rng.choice(keys)
    if datatype == AttributeDatatype.MULTI_VALUE_LIST:
        return rng.sample(keys, k=rng.choice([1, 1, 2]))
    if datatype == AttributeDatatype.NUMBER:
        low, high = NUMBERS.get(attribute.code, (1, 5))
        return rng.randint(low, high)
    if datatype == AttributeDatatype.DATETIME:
        if attribute.code in DATES_AHEAD:
            moment = at + timedelta(days=rng.randint(*DATES_AHEAD[attribute.code]))
        else:
            moment = at - timedelta(hours=rng.uniform(1, 30))
        return moment.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")
    if datatype == AttributeDatatype.TEXT:
        return "Please see my message."
    make = TEXTS.get(attribute.code)
    return make(rng, place) if make else place.address


def answers_for(
    service: Service, place: people.Place, at: datetime, rng: random.Random
) -> dict[str, object]:
    """Every required question answered, and about half of the optional ones."""
    return {
        attribute.code: _answer(attribute, place, at, rng)
        for attribute in service.attributes.all()
        if attribute.variable and (attribute.required or rng.random() < 0.5)
    }
