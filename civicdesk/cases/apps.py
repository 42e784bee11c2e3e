from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "civicdesk.cases"
    label = "cases"

    def ready(self) -> None:
        # Declaring the event classes and their presenters registers their kinds.
        from civicdesk.cases import events, presenters  # noqa: F401
        from civicdesk.cases.intake import handle_inbound_message
        from civicdesk.cases.intake_batch import handle_inbound_batch
        from civicdesk.cases.services.bounces import record_unreachable
        from civicdesk.cases.services.fallback import record_reply_fallback
        from civicdesk.cases.services.references import next_reference, reference_expression
        from civicdesk.channels import services

        services.register_inbound_handler(handle_inbound_message)
        services.register_batch_handler(handle_inbound_batch)
        services.register_fallback_handler(record_reply_fallback)
        services.register_unreachable_handler(record_unreachable)
        services.register_reference_allocator(
            lambda at: next_reference(at=at),
            expression=lambda at: reference_expression(at=at),
        )
