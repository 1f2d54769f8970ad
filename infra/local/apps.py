"""Django app config for the local stack (`run_console`, `seed_demo`, `local_shell`)."""

from django.apps import AppConfig


class LocalStackConfig(AppConfig):
    name = "infra.local"
    label = "local_stack"
