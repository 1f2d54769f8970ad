"""PynamoDB models equivalent to the repository's reads, for the benchmark's comparison column."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model


def build(endpoint: str, aws_region: str, projects_table: str, deployments_table: str) -> Any:
    """(ProjectModel, DeploymentModel) bound to the benchmark's DynamoDB Local tables."""

    class UserIdIndex(GlobalSecondaryIndex):
        class Meta:
            index_name = "UserIdIndex"
            projection = AllProjection()

        userId = UnicodeAttribute(hash_key=True)
        createdAt = UnicodeAttribute(range_key=True)

    class ProjectModel(Model):
        class Meta:
            table_name = projects_table
            host = endpoint
            region = aws_region

        PK = UnicodeAttribute(hash_key=True)
        SK = UnicodeAttribute(range_key=True)
        projectId = UnicodeAttribute()
        userId = UnicodeAttribute()
        name = UnicodeAttribute()
        repoUrl = UnicodeAttribute()
        branch = UnicodeAttribute()
        createdAt = UnicodeAttribute()
        updatedAt = UnicodeAttribute()
        version = NumberAttribute()
        derivedVersion = NumberAttribute(null=True)
        latestDeployment = MapAttribute(null=True)
        user_index = UserIdIndex()

    class ProjectStatusIndex(GlobalSecondaryIndex):
        class Meta:
            index_name = "ProjectStatusIndex"
            projection = AllProjection()

        projectStatus = UnicodeAttribute(hash_key=True)
        SK = UnicodeAttribute(range_key=True)

    class DeploymentModel(Model):
        class Meta:
            table_name = deployments_table
            host = endpoint
            region = aws_region

        PK = UnicodeAttribute(hash_key=True)
        SK = UnicodeAttribute(range_key=True)
        deploymentId = UnicodeAttribute()
        projectId = UnicodeAttribute()
        userId = UnicodeAttribute()
        commitSha = UnicodeAttribute()
        message = UnicodeAttribute(null=True)
        branch = UnicodeAttribute()
        status = UnicodeAttribute()
        projectStatus = UnicodeAttribute()
        createdAt = UnicodeAttribute()
        updatedAt = UnicodeAttribute()
        startedAt = UnicodeAttribute(null=True)
        endedAt = UnicodeAttribute(null=True)
        buildId = UnicodeAttribute(null=True)
        error = UnicodeAttribute(null=True)
        status_index = ProjectStatusIndex()

    return ProjectModel, DeploymentModel
