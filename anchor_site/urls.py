"""URL configuration: the admin site, and the health checks a load balancer calls."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from anchor_site import health

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]
