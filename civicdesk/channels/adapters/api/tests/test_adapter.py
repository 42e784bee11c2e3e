from civicdesk.channels.adapters.api import ApiAdapter
from civicdesk.channels.testing import AdapterTestBase


class TestApiAdapter(AdapterTestBase):
    adapter_class = ApiAdapter
