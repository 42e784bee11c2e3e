"""Reads on the service catalogue."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from django.conf import settings
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
    return remembered(
        ("catalogue.service_with_attributes", code, include_inactive),
        lambda: _service_with_attributes(code=code, include_inactive=include_inactive),
    )


def _service_with_attributes(*, code: str, include_inactive: bool) -> Service | None:
    services = Service.objects.all() if include_inactive else Service.objects.filter(is_active=True)
    return (
        services.filter(code=code)
        .select_related("group", "queue")
        .prefetch_related(
            Prefetch("attributes", queryset=ServiceAttribute.objects.order_by("order", "id"))
        )
        .first()
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


# --- A per-process catalogue cache for acknowledgements -------------------------------------

# How long an entry answers (`CIVICDESK_CATALOGUE_CACHE_SECONDS` overrides it): a service
# added, withdrawn or changed is seen by every process within this many seconds. An
# acknowledgement that trusted a stale entry still stores the contact; intake, which reads
# the catalogue itself, then records why it failed (replayable).
SERVICE_CACHE_SECONDS = 10.0
SERVICE_CACHE_SIZE = 500
_service_cache: dict[str, tuple[float, Service | None]] = {}
_service_cache_lock = threading.Lock()


def cached_offered_service(*, code: str) -> Service | None:
    """The offered service with this code and its questions (as `service_with_attributes`),
    from a per-process cache of `SERVICE_CACHE_SECONDS`; None, also cached, when there is
    none. A hit costs no query; treat the result as read-only (it is shared by threads)."""
    moment = time.monotonic()
    ttl = float(getattr(settings, "CIVICDESK_CATALOGUE_CACHE_SECONDS", SERVICE_CACHE_SECONDS))
    with _service_cache_lock:
        found = _service_cache.get(code)
    if found is not None and found[0] > moment:
        return found[1]
    service = service_with_attributes(code=code)
    if service is not None:
        list(service.attributes.all())  # evaluated now, not by whichever thread reads it first
    with _service_cache_lock:
        if len(_service_cache) >= SERVICE_CACHE_SIZE:
            _service_cache.clear()  # bounded; codes are few, so a full cache is rare
        _service_cache[code] = (moment + ttl, service)
    return service


def forget_cached_services() -> None:
    """Empty this process's catalogue cache (tests; after a bulk catalogue change)."""
    with _service_cache_lock:
        _service_cache.clear()
