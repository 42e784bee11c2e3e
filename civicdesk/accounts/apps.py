from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "civicdesk.accounts"
    label = "accounts"
    verbose_name = "Staff and teams"
