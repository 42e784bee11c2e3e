from civicdesk.channels.adapters.portal import PortalAdapter
from civicdesk.channels.testing import AdapterTestBase


class TestPortalAdapter(AdapterTestBase):
    adapter_class = PortalAdapter
