from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "civicdesk.realtime"
    label = "realtime"
