"""URL configuration: the admin site, the health checks a load balancer calls, and single
sign-on's routes when OIDC_ISSUER is set."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from anchor_site import health

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]

# Admin-styled error pages for what no dashboard view answers itself (DEBUG off).
handler400 = "web.common.dashboard.bad_request"
handler403 = "web.common.dashboard.permission_denied"
handler404 = "web.common.dashboard.page_not_found"
handler500 = "web.common.dashboard.server_error"

if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("anchor_site.sso_views")))
