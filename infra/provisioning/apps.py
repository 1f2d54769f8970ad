"""Django app config for provisioning (the `provision` and `teardown` commands)."""

from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "infra.provisioning"
    label = "provisioning"
