"""Schemas: what is accepted, what is refused, and the round trip through DynamoDB's types."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deployments.schemas import (
    TRANSITIONS,
    CreateDeploymentSchema,
    DeploymentSchema,
    DeploymentStatus,
)
from infra.core.dynamo import format_timestamp, from_item, to_item
from infra.core.errors import ValidationError
from infra.core.schemas import validate
from projects.schemas import CreateProjectSchema, ProjectSchema, UpdateProjectSchema


@pytest.mark.parametrize(
    "data",
    [
        {"name": "web", "repo_url": "https://github.com/acme/web"},
        {
            "name": "  storefront  ",
            "repo_url": "http://gitlab.example.com/a/b.git",
            "branch": "dev",
        },
        {"name": "x" * 50, "repoUrl": "https://github.com/acme/web/", "branch": "release/2.1"},
    ],
)
def test_create_project_accepts_valid_input(data):
    project = validate(CreateProjectSchema, data)
    assert 3 <= len(project.name) <= 50
    assert project.repo_url.startswith("http")
    assert not project.repo_url.endswith("/")


def test_create_project_trims_the_name_and_defaults_the_branch_to_main():
    project = validate(
        CreateProjectSchema, {"name": "  api  ", "repo_url": "https://github.com/a/b"}
    )
    assert project.name == "api"
    assert project.branch == "main"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "ab", "repo_url": "https://github.com/a/b"}, "name"),
        ({"name": "   ab   ", "repo_url": "https://github.com/a/b"}, "name"),
        ({"name": "x" * 51, "repo_url": "https://github.com/a/b"}, "name"),
        ({"name": "web", "repo_url": "ftp://github.com/a/b"}, "repo_url"),
        ({"name": "web", "repo_url": "not a url"}, "repo_url"),
        ({"name": "web", "repo_url": "https://github.com/"}, "repo_url"),
        ({"name": "web", "repo_url": "https://intranet/a/b"}, "repo_url"),
        ({"name": "web", "repo_url": "https://user:pw@github.com/a/b"}, "repo_url"),
        ({"name": "web", "repo_url": "https://github.com/a/b", "branch": "a..b"}, "branch"),
        ({"name": "web", "repo_url": "https://github.com/a/b", "branch": "has space"}, "branch"),
        ({"name": "web", "repo_url": "https://github.com/a/b", "branch": "x.lock"}, "branch"),
        ({"name": "web", "repo_url": "https://github.com/a/b", "branch": "/lead"}, "branch"),
        ({"name": "web", "repo_url": "https://github.com/a/b", "branch": "a/.hidden"}, "branch"),
        ({"name": "web", "repo_url": "https://github.com/a/b", "branch": "@"}, "branch"),
        ({"name": "web", "repo_url": "https://github.com/a/b", "branch": ""}, "branch"),
        ({"name": "web", "repo_url": "https://github.com/a/b", "owner": "x"}, "owner"),
    ],
)
def test_create_project_refuses_invalid_input_naming_the_field(data, field):
    with pytest.raises(ValidationError) as caught:
        validate(CreateProjectSchema, data)
    assert field in caught.value.errors


def test_update_project_needs_something_to_change():
    with pytest.raises(ValidationError):
        validate(UpdateProjectSchema, {"expected_version": 3})
    update = validate(UpdateProjectSchema, {"branch": "develop", "expected_version": 3})
    assert update.changes() == {"branch": "develop"}


@pytest.mark.parametrize("sha", ["abcdef1", "ABCDEF1234", "a" * 40])
def test_create_deployment_accepts_7_to_40_hex_characters_and_lowercases(sha):
    assert validate(CreateDeploymentSchema, {"commit_sha": sha}).commit_sha == sha.lower()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"commit_sha": "abc123"}, "commit_sha"),
        ({"commit_sha": "a" * 41}, "commit_sha"),
        ({"commit_sha": "xyz1234"}, "commit_sha"),
        ({"commit_sha": "abcdef1", "message": "m" * 1001}, "message"),
        ({"commit_sha": "abcdef1", "branch": "bad~branch"}, "branch"),
        ({}, "commit_sha"),
    ],
)
def test_create_deployment_refuses_invalid_input(data, field):
    with pytest.raises(ValidationError) as caught:
        validate(CreateDeploymentSchema, data)
    assert field in caught.value.errors


def test_status_machine_matches_the_design():
    s = DeploymentStatus
    assert TRANSITIONS[s.QUEUED] == {s.BUILDING, s.CANCELED}
    assert TRANSITIONS[s.BUILDING] == {s.READY, s.ERROR, s.CANCELED}
    assert all(not TRANSITIONS[f] for f in (s.READY, s.ERROR, s.CANCELED))
    assert {x.value for x in s} == {"queued", "building", "ready", "error", "canceled"}


def test_timestamps_are_iso_utc_with_milliseconds_and_sort_as_text():
    early = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    late = datetime(2026, 1, 2, 3, 4, 5, 7000, tzinfo=UTC)
    assert format_timestamp(early) == "2026-01-02T03:04:05.006Z"
    assert format_timestamp(early) < format_timestamp(late)


def test_a_project_read_back_from_dynamodb_validates_into_the_same_schema():
    moment = datetime(2026, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    project = ProjectSchema(
        project_id="prj_0123456789abcdef",
        user_id="usr_1",
        name="web",
        repo_url="https://github.com/a/web",
        branch="main",
        created_at=moment,
        updated_at=moment,
        latest_deployment={
            "deploymentId": "dpl_0123456789abcdef",
            "status": "ready",
            "commitSha": "abcdef1",
            "createdAt": "2026-05-01T12:00:00.123Z",
        },
        version=7,
    )
    stored = to_item(project.to_stored())
    assert stored["version"] == {"N": "7"}
    assert stored["createdAt"] == {"S": "2026-05-01T12:00:00.123Z"}
    back = ProjectSchema.model_validate(from_item(stored))
    assert back == project
    assert isinstance(back.version, int)


def test_a_deployment_round_trips_with_optional_fields_left_out():
    moment = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
    deployment = DeploymentSchema(
        deployment_id="dpl_0123456789abcdef",
        project_id="prj_0123456789abcdef",
        user_id="usr_1",
        commit_sha="abcdef1",
        branch="main",
        status=DeploymentStatus.QUEUED,
        created_at=moment,
        updated_at=moment,
    )
    stored = deployment.to_stored()
    assert "startedAt" not in stored and "error" not in stored
    assert stored["status"] == "queued"
    assert DeploymentSchema.model_validate(from_item(to_item(stored))) == deployment


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "evil\u202ename"),
        ("name", "zero\u200bwidth"),
        ("name", "tab\there"),
        ("name", "bell\x07"),
        ("name", "isolate\u2066x"),
        ("branch", "feature/\u202eoops"),
        ("branch", "dev\u200d"),
        ("branch", "bom\ufeff"),
    ],
)
def test_names_and_branches_with_deceptive_characters_are_refused_in_plain_words(field, value):
    data = {"name": "storefront", "repo_url": "https://github.com/acme/web", field: value}
    with pytest.raises(ValidationError) as refused:
        validate(CreateProjectSchema, data)
    assert "control, bidirectional or invisible characters" in str(refused.value)
    assert field in refused.value.errors


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://127.0.0.1/a/b", "not an IP address"),
        ("https://10.0.0.8/a/b", "not an IP address"),
        ("https://[::1]/a/b", "not an IP address"),
        ("https://169.254.169.254/latest/meta", "not an IP address"),
        ("https://localhost/a/b", "public git host"),
        ("https://git.corp.internal/a/b", "public git host"),
        ("https://printer.local/a/b", "public git host"),
        ("https://intranet/a/b", "public git host"),
        ("https://github.com:0/a/b", "port 0"),
        ("https://" + "a" * 64 + ".com/a/b", "over-long label"),
    ],
)
def test_repo_urls_must_name_a_public_host(url, says):
    with pytest.raises(ValidationError) as refused:
        validate(CreateProjectSchema, {"name": "storefront", "repo_url": url})
    assert says in str(refused.value)


def test_a_public_host_with_a_port_is_accepted():
    project = validate(
        CreateProjectSchema, {"name": "storefront", "repo_url": "https://git.example.com:8443/a/b"}
    )
    assert project.repo_url == "https://git.example.com:8443/a/b"
