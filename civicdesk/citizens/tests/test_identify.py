import pytest
from django.db import IntegrityError

from civicdesk.citizens.models import Citizen, ContactPoint
from civicdesk.citizens.services import ContactInput, identify_citizen
from civicdesk.core.errors import DomainError

pytestmark = pytest.mark.django_db


def test_a_new_person_gets_a_record_with_normalised_contact_points() -> None:
    citizen = identify_citizen(
        contacts=[
            ContactInput("email", " Ana@Mail.Example"),
            ContactInput("phone", "07911 123456"),
        ],
        full_name="Ana Popescu",
        language="ro",
        channel="portal",
    )
    assert citizen.full_name == "Ana Popescu"
    assert citizen.preferred_language == "ro"
    assert citizen.preferred_channel == "portal"
    assert sorted(citizen.contact_points.values_list("kind", "value")) == [
        ("email", "ana@mail.example"),
        ("phone", "+447911123456"),
    ]


def test_any_known_contact_point_finds_the_person_and_teaches_the_others() -> None:
    ana = identify_citizen(contacts=[ContactInput("email", "ana@mail.example")], full_name="Ana")
    again = identify_citizen(
        contacts=[
            ContactInput("phone", "+44 7911 123456"),
            ContactInput("email", "ANA@mail.example"),
        ]
    )
    assert again == ana
    assert Citizen.objects.count() == 1
    assert ContactPoint.objects.filter(citizen=ana).count() == 2
    by_phone = identify_citizen(contacts=[ContactInput("phone", "07911123456")])
    assert by_phone == ana


def test_an_unknown_name_is_learned_later_but_a_known_one_is_kept() -> None:
    first = identify_citizen(contacts=[ContactInput("email", "x@mail.example")])
    identify_citizen(contacts=[ContactInput("email", "x@mail.example")], full_name="Xavier")
    identify_citizen(contacts=[ContactInput("email", "x@mail.example")], full_name="Someone else")
    first.refresh_from_db()
    assert first.full_name == "Xavier"


def test_invalid_contact_points_are_refused_and_nothing_is_created() -> None:
    with pytest.raises(DomainError, match="not an email address"):
        identify_citizen(contacts=[ContactInput("email", "nobody")])
    assert Citizen.objects.count() == 0


def test_the_same_point_cannot_belong_to_two_people() -> None:
    identify_citizen(contacts=[ContactInput("email", "a@mail.example")])
    with pytest.raises(IntegrityError):
        ContactPoint.objects.create(
            citizen=Citizen.objects.create(), kind="email", value="a@mail.example"
        )
