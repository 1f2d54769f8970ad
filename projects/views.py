"""Dashboard pages for projects (routes are added to the admin site by anchor_site.admin)."""

from __future__ import annotations

urlpatterns: list = []
