from civicdesk.channels.adapters.console import ConsoleAdapter
from civicdesk.channels.testing import AdapterTestBase


class TestConsoleAdapter(AdapterTestBase):
    adapter_class = ConsoleAdapter
