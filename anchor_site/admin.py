"""The console's AdminSite: Django's admin plus the anchor-deploy dashboard pages."""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.admin.options import TO_FIELD_VAR
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.contenttypes import views as contenttype_views
from django.contrib.contenttypes.models import ContentType
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path, reverse

from staff.permissions import FIND, VIEW, VIEW_AUDIT

logger = logging.getLogger("anchor.dashboard")
SEARCH_MAX = 200  # characters of a search on Django's own admin lists (staff accounts, groups)


class AnchorAdminSite(admin.AdminSite):
    site_header = "anchor-deploy console"
    site_title = "anchor-deploy console"
    index_title = "Staff dashboard"
    index_template = "admin/anchor/index.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        # The audit trail belongs to the site itself (anchor_site is not an app to autodiscover).
        self.register(LogEntry, AuditTrailAdmin)

    def get_urls(self) -> list[URLPattern | URLResolver]:
        # Dashboard routes go before the admin's own list, which ends in a catch-all.
        from web.deployments.archive import urlpatterns as archive_urls
        from web.deployments.attention import urlpatterns as attention_urls
        from web.deployments.urls import urlpatterns as deployment_urls
        from web.projects.views import urlpatterns as project_urls
        from web.staff.audit_trail import urlpatterns as audit_urls
        from web.staff.exports import urlpatterns as export_urls

        stock = [p for p in super().get_urls() if getattr(p, "name", None) != "view_on_site"]
        return [
            *attention_urls,
            *project_urls,
            *deployment_urls,
            *archive_urls,
            *export_urls,
            *audit_urls,
            path(
                "r/<path:content_type_id>/<path:object_id>/",
                self.admin_view(self.view_on_site, cacheable=True),
                name="view_on_site",
            ),
            *stock,
        ]

    def view_on_site(
        self, request: HttpRequest, content_type_id: str, object_id: str
    ) -> HttpResponse:
        """Django's "view on site" redirect, for a model that has a table: the console's
        permission holders are unmanaged models without one, where Django's own view queries it
        anyway (a 500). Anything else not found is the 404 Django gives."""
        if not re.fullmatch(r"[0-9]{1,18}", content_type_id, re.ASCII):
            raise Http404("no such content type")
        try:
            model = ContentType.objects.get_for_id(int(content_type_id)).model_class()
        except ContentType.DoesNotExist as error:
            raise Http404("no such content type") from error
        if model is None or not model._meta.managed:
            raise Http404("this kind of record has no page")
        return contenttype_views.shortcut(request, content_type_id, object_id)

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        """The admin's wrapper (login, never_cache, CSRF), which also answers two kinds of bad
        input Django's stock admin pages let through as a 500 with the admin-styled 400: an
        empty `_to_field` (looked up as a field named ""), a list search longer than
        SEARCH_MAX characters (SQLite refuses a LIKE pattern that complex) and a number too
        large for the database (an id of 30 digits in a form's choice: OverflowError)."""
        from web.common.dashboard import bad_request

        inner = super().admin_view(view, cacheable)
        stock_list = isinstance(getattr(view, "__self__", None), admin.ModelAdmin)

        @functools.wraps(inner)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.GET.get(TO_FIELD_VAR) == "" or (
                request.method == "POST" and request.POST.get(TO_FIELD_VAR) == ""
            ):
                return bad_request(request)
            if stock_list and len(request.GET.get(SEARCH_VAR, "")) > SEARCH_MAX:
                return bad_request(request)
            try:
                return inner(request, *args, **kwargs)
            except OverflowError:
                logger.warning("a number in the request is out of range", exc_info=True)
                return bad_request(request)

        return guarded

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """The admin's index, whose "Recent actions" are the staff member's own audit entries."""
        from web.staff.audit_trail import recent_actions

        return super().index(
            request, {**(extra_context or {}), "recent_audit": recent_actions(request.user)}
        )

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """The admin's login page, offering single sign-on when it is configured."""
        from anchor_site import sso_views

        return super().login(request, {**(extra_context or {}), **sso_views.login_context(request)})

    def logout(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """The admin's logout; an SSO session is signed out by single sign-on's one sign-out
        (the provider's session too, whatever `next` says), anchor_site.sso_views.sign_out."""
        from anchor_site import sso_views

        if request.method == "POST" and settings.OIDC_ENABLED:
            response = sso_views.sign_out(request)
            if response is not None:
                return response
        return super().logout(request, extra_context)

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        """The admin's app list with a Dashboard section first, as permissions allow."""
        apps = super().get_app_list(request, app_label)
        for app in apps:  # Django's own action log now holds only staff account changes
            for model in app["models"]:
                if model["object_name"] == "LogEntry":
                    model["name"] = "Staff account changes"
        if app_label is None and request.user.has_perm(VIEW):
            # The menu mirrors the views' own checks: ids need FIND, a tenant's userId only VIEW.
            label = (
                "Find a tenant, project or deployment"
                if request.user.has_perm(FIND)
                else "Find a tenant"
            )
            entries: list[dict[str, Any]] = [
                _entry("Needs attention", "admin:attention"),
                _entry(label, "admin:find"),
            ]
            if request.user.has_perm(VIEW_AUDIT):
                entries.append(_entry("Audit trail", "admin:audit"))
            apps.insert(
                0,
                {
                    "name": "Dashboard",
                    "app_label": "dashboard",
                    "app_url": reverse("admin:attention"),
                    "has_module_perms": True,
                    "models": entries,
                },
            )
        return apps


def _entry(name: str, url_name: str) -> dict[str, Any]:
    return {
        "name": name,
        # The admin's app list builds element ids from object_name: a slug, never the label.
        "object_name": url_name.rpartition(":")[2],
        "perms": {"view": True},
        "admin_url": reverse(url_name),
        "add_url": None,
        "view_only": True,
    }


class AuditTrailAdmin(admin.ModelAdmin):
    """Django's own action log (staff accounts and groups changed in the admin), read-only; the
    console's audit trail is its own page (web.staff.audit_trail)."""

    list_display = ("action_time", "user", "object_repr", "change_message")
    list_filter = ("action_time", "user", "content_type")
    search_fields = ("object_id", "object_repr", "change_message", "user__username")
    date_hierarchy = "action_time"
    ordering = ("-action_time",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
