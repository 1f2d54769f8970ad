"""ASGI entry point for serving the console behind any ASGI server."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchor_site.settings")
application = get_asgi_application()
