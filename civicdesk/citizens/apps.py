from django.apps import AppConfig


class CitizensConfig(AppConfig):
    name = "civicdesk.citizens"
    label = "citizens"
