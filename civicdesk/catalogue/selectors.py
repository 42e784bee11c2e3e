"""Reads on the service catalogue."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet

from civicdesk.catalogue.models import Service, ServiceAttribute, ServiceGroup
from civicdesk.core.memo import remembered


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
    Remembered for a worker's batch (`core.memo`): read-only.
    """
    services = Service.objects.all() if include_inactive else Service.objects.filter(is_active=True)
    return remembered(
        ("catalogue.service_with_attributes", code, include_inactive),
        lambda: (
            services.filter(code=code)
            .select_related("group", "queue")
            .prefetch_related(
                Prefetch("attributes", queryset=ServiceAttribute.objects.order_by("order", "id"))
            )
            .first()
        ),
    )


def active_service_by_code(*, code: str) -> Service | None:
    """The offered service with this code, without its questions; None when there is none.
    Remembered for a worker's batch (`core.memo`): read-only."""
    return remembered(
        ("catalogue.active_service_by_code", code),
        lambda: Service.objects.filter(code=code, is_active=True).select_related("queue").first(),
    )


def services_by_code(*, codes: Iterable[str]) -> dict[str, Service]:
    """The services with these codes (offered or not), keyed by code; one query."""
    return {service.code: service for service in Service.objects.filter(code__in=list(codes))}


def attributes_by_code(*, service_id: int | None) -> dict[str, ServiceAttribute]:
    """A service's questions keyed by code, for showing answers; empty without a service."""
    if service_id is None:
        return {}
    return {a.code: a for a in ServiceAttribute.objects.filter(service_id=service_id)}
