"""The console's AdminSite: Django's admin plus the anchor-deploy dashboard pages."""

from __future__ import annotations

from django.contrib import admin


class AnchorAdminSite(admin.AdminSite):
    site_header = "anchor-deploy console"
    site_title = "anchor-deploy console"
    index_title = "Staff dashboard"
