from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "civicdesk.channels"
    # "channels" is Django Channels' label; ours names what it holds.
    label = "contact_channels"
    verbose_name = "Contact channels"

    def ready(self) -> None:
        from civicdesk.channels import checks  # noqa: F401 - registers the system check
