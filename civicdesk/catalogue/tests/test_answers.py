"""Answers are checked against the service's questions, number limits included."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from civicdesk.catalogue.models import AttributeDatatype, ServiceAttribute
from civicdesk.catalogue.selectors import service_with_attributes
from civicdesk.catalogue.services import clean_answers
from civicdesk.core.errors import DomainError

pytestmark = pytest.mark.django_db


def _pothole() -> Any:
    service = service_with_attributes(code="pothole")
    assert service is not None
    return service


@pytest.mark.parametrize(
    ("depth", "message"),
    [
        ("-5", "depth_cm: -5 is below the minimum of 0"),
        ("500.5", "depth_cm: 500.5 is above the maximum of 500"),
    ],
)
def test_a_number_outside_its_limits_is_refused(riverton: Any, depth: str, message: str) -> None:
    with pytest.raises(DomainError) as refused:
        clean_answers(service=_pothole(), answers={"location": "Mill Lane", "depth_cm": depth})

    assert str(refused.value) == message


@pytest.mark.parametrize("depth", ["0", "12.5", "500"])
def test_numbers_within_the_limits_are_kept(riverton: Any, depth: str) -> None:
    cleaned = clean_answers(
        service=_pothole(), answers={"location": "Mill Lane", "depth_cm": depth}
    )

    assert cleaned == {"location": "Mill Lane", "depth_cm": depth}


def test_a_number_question_without_limits_takes_any_number(riverton: Any) -> None:
    ServiceAttribute.objects.filter(code="depth_cm").update(minimum=None, maximum=None)

    cleaned = clean_answers(service=_pothole(), answers={"location": "x", "depth_cm": "-5"})

    assert cleaned == {"location": "x", "depth_cm": "-5"}


def test_only_numbers_have_limits_and_the_minimum_is_not_above_the_maximum(riverton: Any) -> None:
    location = ServiceAttribute.objects.get(code="location")
    location.minimum = Decimal(1)
    depth = ServiceAttribute.objects.get(code="depth_cm")
    depth.minimum, depth.maximum = Decimal(10), Decimal(5)

    with pytest.raises(ValidationError) as text_refused:
        location.full_clean()
    with pytest.raises(ValidationError) as range_refused:
        depth.full_clean()

    assert text_refused.value.messages == ["Only number questions can have a minimum or maximum."]
    assert "The minimum cannot be above the maximum." in range_refused.value.messages
    assert depth.datatype == AttributeDatatype.NUMBER
