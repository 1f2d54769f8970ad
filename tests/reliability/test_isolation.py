"""Tenant isolation, generated: a hypothesis state machine over the repository for three tenants,
and every dashboard URL the resolver knows, requested with another tenant's ids by every role."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from deployments import repository as deployments
from deployments.errors import InvalidTransition
from deployments.schemas import DeploymentStatus
from infra.core.errors import NotFound
from projects import repository as projects
from tests.integration.conftest import GROUP_OF_ROLE, ROLES, make_user
from tests.reliability.conftest import scale

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("aws_stage", ["moto"], indirect=True),
]

TENANTS = ("tenant-x", "tenant-y", "tenant-z")
S = DeploymentStatus


class Isolation(RuleBasedStateMachine):
    """A model of who owns what; every repository call made for the wrong tenant must look
    exactly like a call for a missing record, and change nothing."""

    projects_ = Bundle("projects")
    deployments_ = Bundle("deployments")

    @initialize()
    def start(self) -> None:
        run = uuid.uuid4().hex[:8]  # fresh tenants for each generated history
        self.tenants = [f"{run}-{name}" for name in TENANTS]
        self.owner: dict[str, str] = {}
        self.status: dict[str, S] = {}
        self.project_of: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.leaks = 0

    @rule(target=projects_, who=st.sampled_from(range(len(TENANTS))), n=st.integers(0, 10**6))
    def create_project(self, who: int, n: int) -> str:
        tenant = self.tenants[who]
        made = projects.create_project(
            tenant, {"name": f"secret-{tenant}-{n}", "repo_url": "https://github.com/i/p"}
        )
        self.owner[made.project_id] = tenant
        self.names[made.project_id] = made.name
        return made.project_id

    @rule(target=deployments_, who=st.sampled_from(range(len(TENANTS))), project_id=projects_)
    def create_deployment(self, who: int, project_id: str) -> str:
        tenant = self.tenants[who]
        push = {"commit_sha": "abcdef1", "message": f"by {tenant}"}
        if self.owner[project_id] != tenant:
            with pytest.raises(NotFound):
                deployments.create_deployment(tenant, project_id, push)
            return "dpl_0000000000000000"
        made = deployments.create_deployment(tenant, project_id, push)
        self.owner[made.deployment_id] = tenant
        self.status[made.deployment_id] = S.QUEUED
        self.project_of[made.deployment_id] = project_id
        return made.deployment_id

    @rule(who=st.sampled_from(range(len(TENANTS))), project_id=projects_)
    def read_project(self, who: int, project_id: str) -> None:
        tenant = self.tenants[who]
        if self.owner[project_id] == tenant:
            assert projects.get_project(tenant, project_id).name == self.names[project_id]
        else:
            with pytest.raises(NotFound) as caught:
                projects.get_project(tenant, project_id)
            assert str(caught.value) == f"project {project_id} not found"

    @rule(who=st.sampled_from(range(len(TENANTS))), project_id=projects_)
    def list_project(self, who: int, project_id: str) -> None:
        tenant = self.tenants[who]
        if self.owner[project_id] == tenant:
            page = deployments.list_project_deployments(tenant, project_id, limit=100)
            assert all(self.owner[d.deployment_id] == tenant for d in page.items)
        else:
            with pytest.raises(NotFound):
                deployments.list_project_deployments(tenant, project_id)

    @rule(who=st.sampled_from(range(len(TENANTS))), deployment_id=deployments_)
    def read_deployment(self, who: int, deployment_id: str) -> None:
        tenant = self.tenants[who]
        if self.owner.get(deployment_id) == tenant:
            assert deployments.get_deployment(tenant, deployment_id).user_id == tenant
        else:
            with pytest.raises(NotFound) as caught:
                deployments.get_deployment(tenant, deployment_id)
            assert str(caught.value) == f"deployment {deployment_id} not found"

    @rule(
        who=st.sampled_from(range(len(TENANTS))),
        deployment_id=deployments_,
        to=st.sampled_from([S.BUILDING, S.CANCELED]),
    )
    def move(self, who: int, deployment_id: str, to: S) -> None:
        tenant = self.tenants[who]
        if self.owner.get(deployment_id) != tenant:
            with pytest.raises(NotFound):
                deployments.transition_deployment(tenant, deployment_id, to)
            return
        try:
            deployments.transition_deployment(tenant, deployment_id, to)
            self.status[deployment_id] = to
        except InvalidTransition:
            pass

    @rule(who=st.sampled_from(range(len(TENANTS))), project_id=projects_)
    def edit(self, who: int, project_id: str) -> None:
        tenant = self.tenants[who]
        if self.owner[project_id] == tenant:
            projects.update_project(tenant, project_id, {"branch": "release"})
        else:
            with pytest.raises(NotFound):
                projects.update_project(tenant, project_id, {"name": "stolen"})

    @rule(who=st.sampled_from(range(len(TENANTS))))
    def lists(self, who: int) -> None:
        tenant = self.tenants[who]
        for p in projects.list_user_projects(tenant, limit=100).items:
            self.leaks += self.owner.get(p.project_id) != tenant
        for d in deployments.list_user_deployments(tenant, limit=100).items:
            self.leaks += self.owner.get(d.deployment_id) != tenant

    @invariant()
    def nothing_leaked_or_changed(self) -> None:
        assert self.leaks == 0
        for project_id, name in self.names.items():
            stored = projects.get_project(self.owner[project_id], project_id)
            assert stored.name == name  # no other tenant renamed it


def test_a_state_machine_over_the_repository_never_crosses_tenants(aws_stage):
    machine = Isolation.TestCase
    machine.settings = settings(
        max_examples=scale(ci=15, full=60),
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    machine().runTest()


def _dashboard_patterns() -> list[tuple[str, list[str]]]:
    """(URL name, its parameters) of every dashboard route with a tenant in it."""
    found = []

    def walk(patterns, prefix: str = "") -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or prefix)
            elif isinstance(pattern, URLPattern) and pattern.name:
                parameters = list(pattern.pattern.converters)
                if "user_id" in parameters:
                    found.append((f"{prefix}:{pattern.name}", parameters))

    walk(get_resolver().url_patterns)
    return found


def test_every_dashboard_url_with_another_tenants_ids_leaks_nothing_to_any_role(aws_stage):
    victims = []
    for n in range(scale(ci=3, full=12)):
        tenant = f"victim-{n}"
        for m in range(2):
            project = projects.create_project(
                tenant,
                {"name": f"victim-secret-{n}-{m}", "repo_url": "https://github.com/v/secret"},
            )
            deployment = deployments.create_deployment(
                tenant,
                project.project_id,
                {"commit_sha": "feedfacecafe", "message": "victim-secret"},
            )
            victims.append((project.project_id, deployment.deployment_id))
    attacker = projects.create_project(
        "attacker", {"name": "attacker-site", "repo_url": "https://github.com/a/site"}
    )
    patterns = _dashboard_patterns()
    assert len(patterns) >= 7
    clients = {}
    for role in ROLES:
        client = Client()
        if role != "anonymous":
            client.force_login(make_user(role))
        clients[role] = client
    outcomes: Counter[str] = Counter()
    leaks = 0
    for (name, parameters), role in itertools.product(patterns, ROLES):
        if parameters == ["user_id"]:
            continue  # the attacker's own tenant page holds no victim id
        for project_id, deployment_id in victims:
            args = {"user_id": attacker.user_id}
            args |= {"project_id": project_id} if "project_id" in parameters else {}
            args |= {"deployment_id": deployment_id} if "deployment_id" in parameters else {}
            for method in ("get", "post"):
                response = getattr(clients[role], method)(reverse(name, kwargs=args))
                body = response.content.decode(errors="replace")
                outcomes[f"{role} {response.status_code}"] += 1
                assert response.status_code < 500, (name, role, method)
                if "victim-secret" in body or "feedfacecafe" in body:
                    leaks += 1
                if role in GROUP_OF_ROLE and response.status_code == 200:
                    leaks += 1  # staff get the 404 (or 403 / 405), never a page of the record
    attempts = sum(outcomes.values())
    print(
        f"\n{attempts} cross-tenant requests over {len(patterns)} URLs by 4 roles: "
        f"{dict(outcomes)}; {leaks} leaks"
    )
    assert attempts >= scale(ci=150, full=1_000)
    assert leaks == 0
