"""Demo data for the local stack: the cast, the story (tenants, projects, pushes relative to an
anchor moment) and the build logs and artifacts of each build. Pure: nothing here calls AWS."""

from infra.local.demo.buildlogs import build_log
from infra.local.demo.cast import (
    ARTIFACT_DAYS,
    HISTORY_DAYS,
    DemoArtifact,
    DemoDeployment,
    DemoProject,
    DemoTenant,
    ProjectPlan,
    TenantPlan,
)
from infra.local.demo.story import build_tenant, plan_tenants

__all__ = [
    "ARTIFACT_DAYS",
    "HISTORY_DAYS",
    "DemoArtifact",
    "DemoDeployment",
    "DemoProject",
    "DemoTenant",
    "ProjectPlan",
    "TenantPlan",
    "build_log",
    "build_tenant",
    "plan_tenants",
]
