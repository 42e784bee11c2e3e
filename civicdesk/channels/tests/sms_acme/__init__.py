"""A fictional SMS provider, built by following docs/how-to/add-a-channel.md.

It lives under tests/ and is enabled only by the test settings (CIVICDESK_CHANNEL_ADAPTERS),
so it never appears in production. Wire format: see adapter.py and tests/payloads/.
"""

from civicdesk.channels.tests.sms_acme.adapter import AcmeSmsAdapter

ADAPTER = AcmeSmsAdapter

__all__ = ["ADAPTER", "AcmeSmsAdapter"]
