"""Checks every write of answers goes through: answers against a service's questions.

Nothing here writes: the catalogue itself is edited by administrators in the admin site. These
are the gates that intake, the demo and any interface pass answers through before storing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from civicdesk.catalogue.models import AttributeDatatype, Service, ServiceAttribute
from civicdesk.core.errors import DomainError
from civicdesk.core.limits import ANSWER_MAX_LENGTH


def plain_number(value: Decimal | None) -> str:
    """A number as people write it: 0, 500, 4.5 (never 0E-6, 5E+2 or 500.000000); "" for None."""
    if value is None:
        return ""
    return format(value.normalize(), "f")


def number_out_of_range(attribute: ServiceAttribute, number: Decimal) -> str:
    """Why `number` is refused for a number question ("" when within its limits).

    The portal form and `clean_answers` share this, so both refuse the same answers.
    """
    if attribute.minimum is not None and number < attribute.minimum:
        return (
            f"{attribute.code}: {number} is below the minimum of {plain_number(attribute.minimum)}"
        )
    if attribute.maximum is not None and number > attribute.maximum:
        return (
            f"{attribute.code}: {number} is above the maximum of {plain_number(attribute.maximum)}"
        )
    return ""


def _clean_one(attribute: ServiceAttribute, value: Any) -> Any:
    allowed = {str(item["key"]) for item in attribute.values}
    datatype = attribute.datatype
    if datatype == AttributeDatatype.MULTI_VALUE_LIST:
        values = value if isinstance(value, list) else [value]
        chosen = [str(v) for v in values if str(v)]
        unknown = [v for v in chosen if v not in allowed]
        if unknown:
            raise DomainError(f"{attribute.code}: {', '.join(unknown)} is not an allowed choice")
        return chosen
    if isinstance(value, list | dict):
        raise DomainError(f"{attribute.code}: expected a single value")
    text = str(value).strip()
    if datatype == AttributeDatatype.SINGLE_VALUE_LIST and text not in allowed:
        raise DomainError(f"{attribute.code}: {text!r} is not an allowed choice")
    if datatype == AttributeDatatype.NUMBER:
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise DomainError(f"{attribute.code}: {text!r} is not a number") from None
        if not number.is_finite():
            raise DomainError(f"{attribute.code}: {text!r} is not a number")
        refused = number_out_of_range(attribute, number)
        if refused:
            raise DomainError(refused)
        return str(number)
    if datatype == AttributeDatatype.DATETIME:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise DomainError(f"{attribute.code}: {text!r} is not a date and time") from None
    if len(text) > ANSWER_MAX_LENGTH:
        raise DomainError(f"{attribute.code}: the answer is too long")
    return text


def clean_answers(*, service: Service, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Answers keyed by attribute code, checked against the service's questions.

    Raises DomainError naming every unknown question and missing required answer.
    """
    attributes = {a.code: a for a in service.attributes.all() if a.variable}
    unknown = sorted(set(answers) - set(attributes))
    if unknown:
        raise DomainError(f"Unknown question(s) for {service.code}: {', '.join(unknown)}")
    cleaned: dict[str, Any] = {}
    missing = []
    for code, attribute in attributes.items():
        value = answers.get(code)
        if value in (None, "", []):
            if attribute.required:
                missing.append(code)
            continue
        cleaned[code] = _clean_one(attribute, value)
    if missing:
        raise DomainError(f"Required answer(s) missing: {', '.join(missing)}")
    return cleaned
