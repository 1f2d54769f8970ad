"""The baseline model: the deployment table's columns as an ordinary ORM model (SQLite)."""

from __future__ import annotations

from django.db import models


class BenchDeployment(models.Model):
    deployment_id = models.CharField(max_length=20, unique=True)
    commit_sha = models.CharField(max_length=40)
    message = models.CharField(max_length=1000)
    branch = models.CharField(max_length=255)
    status = models.CharField(max_length=10)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True)
    ended_at = models.DateTimeField(null=True)

    class Meta:
        app_label = "changelist"
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.deployment_id
