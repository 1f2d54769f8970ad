"""The deployment pages' routes, added to the admin site by anchor_site.admin."""

from __future__ import annotations

from django.urls import path

from web.deployments.actions import deployment_cancel, deployment_fail, deployment_redeploy
from web.deployments.logs import deployment_log_view
from web.deployments.records import deployment_detail, deployment_log
from web.deployments.tail import deployment_log_tail

_BASE = "tenants/<str:user_id>/deployments/<str:deployment_id>/"

urlpatterns = [
    path(_BASE, deployment_detail, name="deployments_deployment_detail"),
    path(_BASE + "log/", deployment_log, name="deployments_deployment_log"),
    path(_BASE + "log/view/", deployment_log_view, name="deployments_deployment_log_view"),
    path(_BASE + "log/tail/", deployment_log_tail, name="deployments_deployment_log_tail"),
    path(_BASE + "cancel/", deployment_cancel, name="deployments_deployment_cancel"),
    path(_BASE + "fail/", deployment_fail, name="deployments_deployment_fail"),
    path(_BASE + "redeploy/", deployment_redeploy, name="deployments_deployment_redeploy"),
]
