"""Installs the console's own AdminSite as Django's default admin site."""

from django.contrib.admin.apps import AdminConfig


class AnchorAdminConfig(AdminConfig):
    default_site = "anchor_site.admin.AnchorAdminSite"
