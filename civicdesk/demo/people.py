"""Riverton's residents and places: invented names, streets and contact details.

Phone numbers are in the 0117 496 0xxx range Ofcom keeps for drama, so they ring nobody;
emails use the reserved `.example` domain. The email domain also marks a citizen as demo data.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

CITIZEN_DOMAIN = "rivertonmail.example"

# fmt: off
FIRST_NAMES = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Grace",
    "Leo", "Freya", "Arthur", "Lily", "Muhammad", "Emily", "Oscar", "Sophie", "Charlie", "Ella",
    "Jacob", "Evie", "Thomas", "Ruby", "James", "Zara", "William", "Chloe", "Samuel", "Aisha",
    "Joseph", "Hannah", "David", "Margaret", "Peter", "Susan", "Kwame", "Priya", "Tomasz", "Niamh",
    "Rhys", "Bethan", "Callum", "Fatima", "Declan", "Siobhan", "Ravi", "Maureen", "Keith", "Joan",
)
LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Thomas", "Clarke", "Jackson", "Wood", "Harris", "Edwards", "Turner", "Khan", "Hughes",
    "Baker", "Nowak", "Okoye", "Murphy", "Ahmed", "Begum", "Price", "Kaur", "Lewis", "Morgan",
    "Campbell", "Singh", "Hussain", "Kelly", "Mensah", "Cooper", "Ward", "Kowalczyk", "Barnes",
)
ROMANIAN_FIRST = ("Andrei", "Elena", "Mihai", "Ioana", "Alexandru", "Maria", "Ștefan", "Ana")
ROMANIAN_LAST = ("Popescu", "Ionescu", "Popa", "Constantin", "Dumitru", "Stan", "Munteanu")

STREETS = (
    "Mill Lane", "River Street", "Church Road", "Station Road", "Victoria Terrace",
    "Queens Avenue", "Orchard Close", "Bridge Street", "Market Place", "Kingfisher Way",
    "Willow Crescent", "Abbey Road", "Park View", "Castle Hill", "Ferry Lane", "High Street",
    "North Parade", "Elm Grove", "Canal Walk", "Brook Street", "Meadow Rise", "St John's Road",
    "Wharf Street", "Cedar Avenue", "Heron Drive", "Foundry Lane", "Chapel Row", "Southgate",
    "Riverside Walk", "Marsh Lane",
)
LANDMARKS = (
    "outside number {house}", "by the bus stop", "near the primary school",
    "opposite the Red Lion", "by the post box", "outside the Co-op", "near the footbridge",
    "by the recycling bank", "at the corner with {other}", "outside the library",
)
BUSINESSES = (
    "Riverside Café", "Golden Dragon takeaway", "Mill Lane Bakery", "The Red Lion",
    "Kebab Corner", "Fresh Fields grocers", "Spice of Riverton", "The Coffee Barge",
)
# fmt: on


@dataclass(frozen=True)
class Resident:
    name: str
    email: str
    phone: str  # "" when they gave none
    language: str
    channel: str  # the channel they use most
    weight: float  # how often they get in touch, relative to others


@dataclass(frozen=True)
class Place:
    house: int
    street: str
    landmark: str

    @property
    def address(self) -> str:
        return f"{self.house} {self.street}, Riverton"

    @property
    def location(self) -> str:
        return f"{self.street}, {self.landmark}"


def _ascii(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def residents(rng: random.Random, *, count: int, channels: dict[str, int]) -> list[Resident]:
    """`count` distinct residents; about one in ten prefers Romanian."""
    people: list[Resident] = []
    names: set[str] = set()
    phones = rng.sample(range(1000), count)
    kinds, weights = list(channels), list(channels.values())
    while len(people) < count:
        romanian = rng.random() < 0.1
        first = rng.choice(ROMANIAN_FIRST if romanian else FIRST_NAMES)
        last = rng.choice(ROMANIAN_LAST if romanian else LAST_NAMES)
        name = f"{first} {last}"
        if name in names:
            continue
        names.add(name)
        number = len(people)
        people.append(
            Resident(
                name=name,
                email=f"{_ascii(first)}.{_ascii(last)}{number}@{CITIZEN_DOMAIN}",
                phone=f"0117 496 0{phones[number]:03d}" if rng.random() < 0.55 else "",
                language="ro" if romanian else "en",
                channel=rng.choices(kinds, weights)[0],
                weight=1 / (1 + number % 37) ** 0.7,
            )
        )
    return people


def place(rng: random.Random) -> Place:
    street = rng.choice(STREETS)
    house = rng.randint(1, 120)
    other = rng.choice([s for s in STREETS if s != street])
    landmark = rng.choice(LANDMARKS).format(house=house, other=other)
    return Place(house=house, street=street, landmark=landmark)


def registration(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNOPRSTUVWXYZ"
    return (
        f"{rng.choice(letters)}{rng.choice(letters)}{rng.randint(10, 24)} "
        f"{''.join(rng.choice(letters) for _ in range(3))}"
    )
