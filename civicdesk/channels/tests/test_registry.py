"""Adapter discovery reports the real cause of a broken adapter, at start-up."""

import pytest
from django.core.checks import Error

from civicdesk.channels.checks import channel_adapters_load
from civicdesk.channels.registry import AdapterError, _discovered, discover_adapters

BROKEN = "civicdesk.channels.tests.broken_adapter"


def test_a_missing_dependency_inside_an_adapter_names_the_dependency() -> None:
    with pytest.raises(AdapterError) as info:
        discover_adapters((BROKEN,))
    assert str(info.value) == (
        f"Channel adapter {BROKEN!r} cannot be imported: "
        "No module named 'civicdesk_missing_provider_sdk'"
    )
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_a_path_to_no_module_is_an_adapter_error() -> None:
    with pytest.raises(AdapterError, match="No module named 'civicdesk_nowhere'"):
        discover_adapters(("civicdesk_nowhere.Adapter",))


def test_the_system_check_reports_an_adapter_that_does_not_load(settings: object) -> None:
    assert channel_adapters_load() == []
    settings.CIVICDESK_CHANNEL_ADAPTERS = [BROKEN]  # type: ignore[attr-defined]
    _discovered.cache_clear()
    try:
        assert channel_adapters_load() == [
            Error(
                f"Channel adapter {BROKEN!r} cannot be imported: "
                "No module named 'civicdesk_missing_provider_sdk'",
                hint="Install the adapter's dependencies or fix CIVICDESK_CHANNEL_ADAPTERS.",
                id="contact_channels.E001",
            )
        ]
    finally:
        _discovered.cache_clear()
