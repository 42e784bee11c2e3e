"""Reading the service catalogue and checking answers against a service's questions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Prefetch, QuerySet

from civicdesk.cases.models import AttributeDatatype, Service, ServiceAttribute, ServiceGroup
from civicdesk.core.errors import DomainError


def active_services() -> QuerySet[Service]:
    return (
        Service.objects.filter(is_active=True)
        .select_related("group")
        .order_by("group__order", "group__name", "order", "name")
    )


def groups_with_services() -> QuerySet[ServiceGroup]:
    return (
        ServiceGroup.objects.filter(services__is_active=True)
        .distinct()
        .prefetch_related(
            Prefetch(
                "services",
                queryset=Service.objects.filter(is_active=True).order_by("order", "name"),
            )
        )
    )


def service_with_attributes(*, code: str, include_inactive: bool = False) -> Service | None:
    """A service with its questions in order, or None.

    `include_inactive`: also a withdrawn service, for an interface that must not lose a form
    filled in while the service was still offered (intake then records why it failed).
    """
    services = Service.objects.all() if include_inactive else Service.objects.filter(is_active=True)
    return (
        services.filter(code=code)
        .select_related("group")
        .prefetch_related(
            Prefetch("attributes", queryset=ServiceAttribute.objects.order_by("order", "id"))
        )
        .first()
    )


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
        return str(number)
    if datatype == AttributeDatatype.DATETIME:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise DomainError(f"{attribute.code}: {text!r} is not a date and time") from None
    if len(text) > 5000:
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
