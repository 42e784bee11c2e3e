from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "civicdesk.channels"
    # "channels" is Django Channels' label; ours names what it holds.
    label = "contact_channels"
    verbose_name = "Contact channels"

    def ready(self) -> None:
        from django.conf import settings

        from civicdesk.channels import (
            checks,  # noqa: F401 - registers the system check
            http,
        )

        http.set_default_timeout(settings.CIVICDESK_PROVIDER_TIMEOUT_SECONDS)
