"""The demo data generator behind `manage.py seed_demo`: believable tenants, projects and builds.

Pure: nothing here calls AWS. Everything is drawn from `random.Random` instances seeded with
text built from `--seed`, so one seed always gives the same tenants, ids, commits and logs.
Times are offsets from an `anchor` moment (the first seed's "now"); the command finds the anchor
again from the stored data on later runs, so a second run rewrites the same keys.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.local.demo.buildlogs import FAIL_AT, artifacts_for, build_log
from infra.local.demo.cast import (
    AREAS,
    ARTIFACT_DAYS,
    BIG_PROJECT_DEPLOYMENTS,
    COMPANIES,
    FAILURES,
    FEATURES,
    FIXES,
    HISTORY_DAYS,
    PACKAGES,
    PREVIEW_BRANCHES,
    PRODUCTION_BRANCHES,
    PROJECTS,
    SINGAPORE,
    SMALL_PROJECT_DEPLOYMENTS,
    STUCK_FOR,
    TIMEOUT,
    DemoArtifact,
    DemoDeployment,
    DemoProject,
    DemoTenant,
    ProjectPlan,
    S,
    TenantPlan,
    _rng,
    _token,
    _weighted,
)
from projects.schemas import ProjectSchema

# --- plans: identities from the seed ----------------------------------------------------------


def plan_tenants(seed: int, count: int) -> list[TenantPlan]:
    """The first `count` demo tenants of `seed` (the same prefix whatever `count` is).

    Tenant 0's first project is the big one (pagination); tenant 1's second project has the
    stuck build (and a failure of the last hour); tenant 2's second project a deployment queued
    for over half an hour (the needs-attention feed); tenant 2's first project has the
    deployment whose log is missing (each falls back to the last tenant when there are fewer).
    """
    order = list(range(len(COMPANIES)))
    _rng(seed, "companies").shuffle(order)
    plans = []
    for index in range(count):
        company, slug, org = COMPANIES[order[index % len(COMPANIES)]]
        if index >= len(COMPANIES):  # more tenants than companies: numbered namesakes
            round_ = index // len(COMPANIES) + 1
            company, slug, org = f"{company} {round_}", f"{slug}-{round_}", f"{org}{round_}"
        rng = _rng(seed, "tenant", index)
        user_id = slug if rng.random() < 0.5 else "usr_" + _token(rng, 10)
        plans.append(
            TenantPlan(
                index=index,
                user_id=user_id,
                company=company,
                org=org,
                projects=_plan_projects(rng, org, index, count),
            )
        )
    return plans


def _plan_projects(rng: random.Random, org: str, tenant: int, tenants: int) -> tuple:
    chosen = rng.sample(PROJECTS, rng.randint(2, 6))
    plans = []
    for position, (name, framework) in enumerate(chosen):
        big = tenant == 0 and position == 0
        stuck = tenant == min(1, tenants - 1) and position == 1
        long_queued = tenant == min(2, tenants - 1) and position == 1 and not stuck
        missing_log = tenant == min(2, tenants - 1) and position == 0
        repo = name if rng.random() < 0.7 else f"{org}-{name}"
        recent = rng.random() < 0.2 and not (big or stuck or missing_log)
        age_days = rng.uniform(10, HISTORY_DAYS - 5) if recent else rng.uniform(130, 900)
        low, high = BIG_PROJECT_DEPLOYMENTS if big else SMALL_PROJECT_DEPLOYMENTS
        size = (
            rng.randint(low, high)
            if big
            else round(math.exp(rng.uniform(math.log(low), math.log(high))))
        )
        in_flight: tuple[str, ...] = ()
        roll = rng.random()
        if big:
            in_flight = ("building", "queued")
        elif stuck:  # the needs-attention feed's story: a stuck build after a fresh failure
            in_flight = ("building", "error")
        elif long_queued:
            in_flight = ("queued",)
        elif roll < 0.12:
            in_flight = ("building",)
        elif roll < 0.2:
            in_flight = ("queued",)
        plans.append(
            ProjectPlan(
                project_id="prj_" + _token(rng, 16),
                name=name,
                repo_url=f"https://github.com/{org}/{repo}",
                branch=_weighted(rng, PRODUCTION_BRANCHES),
                framework=framework,
                age=timedelta(seconds=round(age_days * 86400)),
                version=rng.choice((1, 1, 1, 2, 3)),
                size=size,
                big=big,
                stuck=stuck,
                missing_log=missing_log,
                in_flight=in_flight,
                long_queued=long_queued,
            )
        )
    return tuple(plans)


# --- history: deployments, logs and artifacts relative to the anchor ---------------------------


def build_tenant(plan: TenantPlan, *, anchor: datetime, max_deployments: int) -> DemoTenant:
    """Every record of one tenant, timed relative to `anchor` (a UTC moment, whole seconds)."""
    tenant = DemoTenant(plan=plan)
    for project_plan in plan.projects:
        tenant.projects.append(
            _build_project(plan, project_plan, anchor=anchor, max_deployments=max_deployments)
        )
    return tenant


def _build_project(
    tenant: TenantPlan, plan: ProjectPlan, *, anchor: datetime, max_deployments: int
) -> DemoProject:
    # Push times come from their own stream (they depend on the anchor through office hours);
    # everything else about deployment k comes from a stream of its own, so ids, commits,
    # statuses and errors are the same whatever the anchor.
    times_rng = random.Random(f"anchor-demo:{plan.project_id}:times")
    created = anchor - plan.age
    updated = created
    if plan.version > 1:
        updated = created + (anchor - created) * times_rng.uniform(0.2, 0.9)
    record = ProjectSchema(
        project_id=plan.project_id,
        user_id=tenant.user_id,
        name=plan.name,
        repo_url=plan.repo_url,
        branch=plan.branch,
        created_at=created,
        updated_at=_ms(updated),
        version=plan.version,
    )
    project = DemoProject(plan=plan, record=record)
    total = min(plan.size, max_deployments)
    live = [S(status) for status in plan.in_flight[: max(0, total)]]
    start = max(anchor - timedelta(days=HISTORY_DAYS), created + timedelta(hours=1))
    # History stops an hour before the anchor, so every finished build ended before it.
    times = _push_times(times_rng, start, anchor - timedelta(hours=1), total - len(live))
    times += [anchor - offset for offset in _live_offsets(times_rng, plan, live)]
    previous_error = False
    for number, moment in enumerate(times):
        rng = random.Random(f"anchor-demo:{plan.project_id}:{number}")
        if number < len(times) - len(live):
            status = _past_status(rng, previous_error)
            previous_error = status is S.ERROR
        else:
            status = live[number - (len(times) - len(live))]
        project.deployments.append(_deployment(rng, tenant, plan, moment, status, anchor))
    project.deployments.sort(key=lambda d: d.record.created_at)
    if plan.missing_log:
        _lose_a_log(project)
    return project


def _ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _push_times(rng: random.Random, start: datetime, end: datetime, count: int) -> list[datetime]:
    """`count` distinct push moments in [start, end], mostly in Singapore working hours."""
    span = (end - start).total_seconds()
    moments: set[datetime] = set()
    while len(moments) < count and span > 0:
        moment = start + timedelta(seconds=rng.uniform(0, span))
        local = moment + SINGAPORE
        weight = (0.25 if local.weekday() >= 5 else 1.0) * (
            1.0 if 9 <= local.hour < 20 else 0.35 if 7 <= local.hour < 24 else 0.08
        )
        if rng.random() < weight:
            moments.add(_ms(moment))
    return sorted(moments)


def _live_offsets(
    rng: random.Random, plan: ProjectPlan, live: list[DeploymentStatus]
) -> list[timedelta]:
    """How long ago each running deployment was pushed, oldest first."""
    offsets = []
    for position, status in enumerate(live):
        if plan.stuck and position == 0:
            offsets.append(STUCK_FOR + timedelta(seconds=rng.randint(5, 40)))
        elif status is S.ERROR:  # failed within the hour: on the feed's "last 24 hours"
            offsets.append(timedelta(minutes=rng.randint(35, 55)))
        elif plan.long_queued:  # queued past ANCHOR_LONG_QUEUED_MINUTES (15 by default)
            offsets.append(timedelta(minutes=rng.randint(25, 40)))
        elif status is S.BUILDING:
            offsets.append(timedelta(seconds=rng.randint(60, 240)))
        else:
            offsets.append(timedelta(seconds=rng.randint(5, 50)))
    return sorted(offsets, reverse=True)


def _past_status(rng: random.Random, previous_error: bool) -> DeploymentStatus:
    roll = rng.random()
    if previous_error and roll < 0.3:  # a broken build is often pushed again before it is fixed
        return S.ERROR
    if roll < 0.88:
        return S.READY
    return S.ERROR if roll < 0.955 else S.CANCELED


def _commit(rng: random.Random, plan: ProjectPlan, org: str) -> tuple[str, str]:
    """(message, branch) of a push: a quarter of pushes go to preview branches."""
    preview = rng.random() < 0.25
    branch = rng.choice(PREVIEW_BRANCHES) if preview else plan.branch
    area = rng.choice(AREAS)
    kind = rng.random()
    if branch.startswith("dependabot/") or (kind < 0.12 and not preview):
        package, old, new = rng.choice(PACKAGES)
        message = f"chore(deps): bump {package} from {old} to {new}"
    elif kind < 0.45:
        message = f"feat({area}): {rng.choice(FEATURES)}"
    elif kind < 0.75:
        message = f"fix({area}): {rng.choice(FIXES)}"
    elif kind < 0.85 and not preview:
        source = rng.choice(PREVIEW_BRANCHES)
        message = f"Merge pull request #{rng.randint(40, 1900)} from {org}/{source}"
    elif kind < 0.93:
        message = f"refactor({area}): split {area} into smaller components"
    else:
        message = f'Revert "feat({area}): {rng.choice(FEATURES)}"'
    return message, branch


def _deployment(
    rng: random.Random,
    tenant: TenantPlan,
    plan: ProjectPlan,
    created: datetime,
    status: DeploymentStatus,
    anchor: datetime,
) -> DemoDeployment:
    message, branch = _commit(rng, plan, tenant.org)
    deployment_id = "dpl_" + _token(rng, 16)
    sha = f"{rng.getrandbits(160):040x}"
    duration = _build_seconds(rng, plan)
    started: datetime | None = created + timedelta(seconds=rng.uniform(2, 25))
    ended: datetime | None = None
    error = None
    failure = None
    if status is S.QUEUED:
        started = None
    elif status is S.BUILDING:
        started = min(started, anchor - timedelta(seconds=20))
    elif status is S.READY:
        ended = started + timedelta(seconds=duration)
    elif status is S.ERROR:
        failure = rng.choice(FAILURES)
        error = failure[0]
        if failure[2] == "timeout":
            ended = started + TIMEOUT
        else:
            ended = started + timedelta(seconds=duration * FAIL_AT[failure[2]])
    elif status is S.CANCELED:
        if rng.random() < 0.4:  # canceled while still queued
            started = None
            ended = created + timedelta(seconds=rng.uniform(5, 90))
        else:
            ended = started + timedelta(seconds=duration * rng.uniform(0.1, 0.8))
    started = _ms(started) if started else None
    ended = _ms(ended) if ended else None
    record = DeploymentSchema(
        deployment_id=deployment_id,
        project_id=plan.project_id,
        user_id=tenant.user_id,
        commit_sha=sha,
        message=message,
        branch=branch,
        status=status,
        created_at=created,
        updated_at=ended or started or created,
        started_at=started,
        ended_at=ended,
        build_id=("bld_" + _token(rng, 12)) if started else None,
        error=error,
    )
    log = None
    if started is not None:
        hung = plan.stuck and anchor - created > timedelta(hours=1)
        log = build_log(
            rng, plan, record, duration=duration, anchor=anchor, failure=failure, hung=hung
        )
    artifacts: tuple[DemoArtifact, ...] = ()
    if status is S.READY and anchor - created <= timedelta(days=ARTIFACT_DAYS):
        artifacts = artifacts_for(rng, plan, record)
    return DemoDeployment(record=record, log=log, artifacts=artifacts)


def _build_seconds(rng: random.Random, plan: ProjectPlan) -> float:
    base = {"next": 110.0, "vite": 45.0, "astro": 35.0}[plan.framework]
    if plan.big:
        base *= 1.6
    return base * math.exp(rng.gauss(0, 0.3))


def _lose_a_log(project: DemoProject) -> None:
    """The newest failed deployment (else the third newest ready) loses its build log."""
    finished = [d for d in project.deployments if d.record.status in (S.ERROR, S.READY)]
    errors = [d for d in finished if d.record.status is S.ERROR]
    pick = errors[-1] if errors else finished[-min(3, len(finished))] if finished else None
    if pick is None:
        return
    position = project.deployments.index(pick)
    project.deployments[position] = DemoDeployment(
        record=pick.record, log=None, artifacts=pick.artifacts
    )
