"""System check: every configured channel adapter loads, so that a missing provider library or
a mistyped CIVICDESK_CHANNEL_ADAPTERS entry stops `civicdesk check` and start-up with the real
cause, instead of surfacing as a failure on the first webhook. Costs: one import per adapter."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register


@register()
def channel_adapters_load(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from civicdesk.channels import registry

    try:
        registry.adapters()
    except ImportError as exc:  # AdapterError is an ImportError
        return [
            Error(
                str(exc),
                hint="Install the adapter's dependencies or fix CIVICDESK_CHANNEL_ADAPTERS.",
                id="contact_channels.E001",
            )
        ]
    return []
