"""Django app config for infra (management commands for provisioning and local AWS)."""

from django.apps import AppConfig


class InfraConfig(AppConfig):
    name = "infra"
    default_auto_field = "django.db.models.BigAutoField"
