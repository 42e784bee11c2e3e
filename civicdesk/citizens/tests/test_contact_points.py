import pytest
from hypothesis import given
from hypothesis import strategies as st

from civicdesk.citizens.kernels.contact_points import InvalidContactPoint, normalise


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("email", "  Jo.Citizen@Mail.EXAMPLE ", "jo.citizen@mail.example"),
        ("phone", "07911 123456", "+447911123456"),
        ("phone", "+44 (0)20 7946 0018", "+442079460018"),
        ("phone", "+40 721 234 567", "+40721234567"),
        ("whatsapp", "0044 7911 123456", "+447911123456"),
        ("telegram", "@RivertonResident", "rivertonresident"),
    ],
)
def test_contact_points_normalise(kind: str, raw: str, expected: str) -> None:
    assert normalise(kind, raw, default_region="GB") == expected


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("email", "not-an-email"),
        ("email", "a@b"),
        ("phone", "12"),
        ("phone", "call me"),
        ("phone", "07700 900123"),
        ("telegram", "has spaces"),
        ("fax", "123"),
    ],
)
def test_invalid_contact_points_are_refused(kind: str, raw: str) -> None:
    with pytest.raises((InvalidContactPoint, ValueError)):
        normalise(kind, raw, default_region="GB")


@given(st.emails())
def test_email_normalisation_is_idempotent(email: str) -> None:
    try:
        once = normalise("email", email)
    except InvalidContactPoint:
        return
    assert normalise("email", once) == once
