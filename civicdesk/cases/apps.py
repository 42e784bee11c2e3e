from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "civicdesk.cases"
    label = "cases"

    def ready(self) -> None:
        # Declaring the event classes and their presenters registers their kinds.
        from civicdesk.cases import events, presenters  # noqa: F401
        from civicdesk.cases.intake import handle_inbound_message
        from civicdesk.channels.registry import set_inbound_handler

        set_inbound_handler(handle_inbound_message)
