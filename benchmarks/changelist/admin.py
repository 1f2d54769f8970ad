"""The stock ModelAdmin changelist of the baseline model, with the project page's columns."""

from __future__ import annotations

from django.contrib import admin

from benchmarks.changelist.models import BenchDeployment


@admin.register(BenchDeployment)
class BenchDeploymentAdmin(admin.ModelAdmin):
    list_display = (
        "deployment_id",
        "commit_sha",
        "message",
        "branch",
        "status",
        "created_at",
        "ended_at",
    )
    list_filter = ("status",)
    list_per_page = 25
