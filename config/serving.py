"""What config.wsgi and config.asgi share: the body limits read from settings."""

from __future__ import annotations

from django.conf import settings

from civicdesk.core.bodylimit import BodyLimits


def body_limits() -> BodyLimits:
    """CIVICDESK_BODY_LIMITS as `BodyLimits`: "default" and one entry per path prefix."""
    configured = dict(settings.CIVICDESK_BODY_LIMITS)
    default = int(configured.pop("default"))
    return BodyLimits(
        default=default, prefixes=tuple((prefix, int(size)) for prefix, size in configured.items())
    )
