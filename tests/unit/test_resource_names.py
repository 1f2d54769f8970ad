"""The name settings (ANCHOR_PROJECTS_TABLE, ... ANCHOR_LOGS_BUCKET) and the production stages:
how the one declaration turns them into the names every command and page uses."""

from __future__ import annotations

from typing import Any

from infra.core.resources import (
    ARTIFACTS,
    DEPLOYMENTS,
    LOGS,
    PROJECTS,
    is_protected_stage,
    tenants_table_name,
)


def test_unset_name_settings_keep_the_default_names(settings: Any) -> None:
    settings.ANCHOR_STAGE, settings.ANCHOR_BUCKET_SUFFIX = "dev", "k3j9"

    assert PROJECTS.name() == "anchor-deploy-dev-projects"
    assert DEPLOYMENTS.name("qa") == "anchor-deploy-qa-deployments"
    assert LOGS.name() == "anchor-deploy-dev-logs-k3j9"
    assert tenants_table_name() == "anchor-deploy-dev-tenants"


def test_a_name_setting_names_the_configured_stage_s_resource_and_no_other(settings: Any) -> None:
    settings.ANCHOR_STAGE, settings.ANCHOR_BUCKET_SUFFIX = "dev", "k3j9"
    settings.ANCHOR_PROJECTS_TABLE = "myapp-dev-ProjectsTable"
    settings.ANCHOR_LOGS_BUCKET = "myapp-dev-logsbucket-q8w7e6"
    settings.ANCHOR_TENANTS_TABLE = "myapp-dev-TenantsTable"

    assert PROJECTS.name() == PROJECTS.name("dev") == "myapp-dev-ProjectsTable"
    assert LOGS.name() == "myapp-dev-logsbucket-q8w7e6"  # the suffix is not added to it
    assert tenants_table_name() == "myapp-dev-TenantsTable"
    assert PROJECTS.create_kwargs("dev")["TableName"] == "myapp-dev-ProjectsTable"
    # Unset ones keep their defaults; another stage keeps all of its own.
    assert DEPLOYMENTS.name() == "anchor-deploy-dev-deployments"
    assert ARTIFACTS.name() == "anchor-deploy-dev-artifacts-k3j9"
    assert PROJECTS.name("qa") == "anchor-deploy-qa-projects"
    assert LOGS.name("qa") == "anchor-deploy-qa-logs-k3j9"
    assert tenants_table_name("qa") == "anchor-deploy-qa-tenants"


def test_production_stages_are_production_plus_the_setting(settings: Any) -> None:
    settings.ANCHOR_PROTECTED_STAGES = ["production", "prod-eu"]

    assert is_protected_stage("production") and is_protected_stage("prod-eu")
    assert not is_protected_stage("production-eu")
    assert PROJECTS.create_kwargs("prod-eu")["DeletionProtectionEnabled"] is True
    assert PROJECTS.point_in_time_recovery("prod-eu") is True
    assert PROJECTS.create_kwargs("staging")["DeletionProtectionEnabled"] is False
