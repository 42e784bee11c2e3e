from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The City of Riverton: demonstration data, loaded by `civicdesk demo`."""

    name = "civicdesk.demo"
    label = "demo"
