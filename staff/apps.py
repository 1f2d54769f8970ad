"""Django app config for staff use cases (actions, audit, look-ups) and the support shell."""

from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "staff"
