"""The web package as a Django app, so its template tag libraries (web.templatetags) load."""

from __future__ import annotations

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "web"
    label = "web"
    verbose_name = "Dashboard pages"
