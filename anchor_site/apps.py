"""The console's app configs: its own AdminSite as Django's default, and its security hooks."""

from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class AnchorAdminConfig(AdminConfig):
    default_site = "anchor_site.admin.AnchorAdminSite"


class ConsoleConfig(AppConfig):
    """anchor_site as an app: its static files, its `serve` command and its signal handlers."""

    name = "anchor_site"
    label = "console"
    verbose_name = "anchor-deploy console"

    def ready(self) -> None:
        from anchor_site import security

        security.connect_signals()
