"""An adapter package whose provider library is not installed (for the registry tests)."""

import civicdesk_missing_provider_sdk  # noqa: F401
