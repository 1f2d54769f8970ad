"""The demo data generator behind `manage.py seed_demo`: believable tenants, projects and builds.

Pure: nothing here calls AWS. Everything is drawn from `random.Random` instances seeded with
text built from `--seed`, so one seed always gives the same tenants, ids, commits and logs.
Times are offsets from an `anchor` moment (the first seed's "now"); the command finds the anchor
again from the stored data on later runs, so a second run rewrites the same keys.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import random
import tarfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from deployments.schemas import DeploymentSchema, DeploymentStatus
from projects.schemas import ProjectSchema

ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
HISTORY_DAYS = 120
ARTIFACT_DAYS = 14  # ready deployments this recent get artifacts
BIG_PROJECT_DEPLOYMENTS = (2000, 2400)
SMALL_PROJECT_DEPLOYMENTS = (3, 320)
STUCK_FOR = timedelta(hours=5, minutes=12)
TIMEOUT = timedelta(minutes=45)
SINGAPORE = timedelta(hours=8)  # builds follow Singapore office hours

S = DeploymentStatus


# --- the cast --------------------------------------------------------------------------------

# (company, tenant slug, GitHub organisation)
COMPANIES: tuple[tuple[str, str, str], ...] = (
    ("Acme Corp", "acme-corp", "acme-corp"),
    ("Lumen Health", "lumen-health", "lumenhealth"),
    ("Kopi Labs", "kopi-labs", "kopilabs"),
    ("Tanjong Digital", "tanjong-digital", "tanjongdigital"),
    ("Harbourline Logistics", "harbourline", "harbourline-sg"),
    ("Northwind Traders", "northwind", "northwind-traders"),
    ("Pixel & Pine Studio", "pixel-and-pine", "pixelandpine"),
    ("Merlion Analytics", "merlion-analytics", "merlion-analytics"),
    ("Sundew Payments", "sundew-pay", "sundewpay"),
    ("Orbit Freight", "orbit-freight", "orbitfreight"),
    ("Bamboo Learning", "bamboo-learning", "bamboolearn"),
    ("Kinetic Bikes", "kinetic-bikes", "kineticbikes"),
)

# (project name, framework)
PROJECTS: tuple[tuple[str, str], ...] = (
    ("storefront", "next"),
    ("marketing-site", "next"),
    ("docs", "next"),
    ("admin-dashboard", "vite"),
    ("blog", "astro"),
    ("landing-pages", "next"),
    ("status-page", "vite"),
    ("design-system", "vite"),
    ("checkout", "next"),
    ("customer-portal", "next"),
    ("careers-site", "astro"),
    ("partner-portal", "next"),
    ("help-center", "astro"),
    ("web-app", "vite"),
)

PRODUCTION_BRANCHES = (("main", 70), ("master", 15), ("production", 10), ("develop", 5))
PREVIEW_BRANCHES = (
    "feat/checkout-v2",
    "feat/dark-mode",
    "feat/search-suggestions",
    "fix/header-overflow",
    "fix/hydration-mismatch",
    "chore/upgrade-next-14",
    "renovate/major-react-monorepo",
    "dependabot/npm_and_yarn/axios-1.7.4",
    "hotfix/paynow-timeout",
    "experiment/edge-runtime",
)
AREAS = (
    "auth", "cart", "checkout", "header", "footer", "nav", "pricing", "search", "seo", "i18n",
    "analytics", "images", "api", "dashboard", "settings", "blog", "forms",
)  # fmt: skip
FEATURES = (
    "add dark mode toggle",
    "lazy-load product images",
    "add Bahasa Melayu translations",
    "show delivery estimate in cart",
    "paginate order history",
    "generate sitemap.xml at build time",
    "support PayNow QR at checkout",
    "add skeleton loaders",
    "prefetch pricing page",
    "add cookie consent banner",
    "track signup funnel events",
    "add Open Graph images",
    "stream search results",
    "remember last used filters",
)
FIXES = (
    "header overflow on small screens",
    "hydration mismatch in date picker",
    "broken link in footer",
    "cart total rounding",
    "redirect loop after login",
    "layout shift on hero image",
    "invoice dates shown in UTC",
    "double submit on contact form",
    "focus trap in mobile menu",
    "stale cache after price change",
)
PACKAGES = (
    ("next", "14.2.3", "14.2.5"),
    ("axios", "1.6.8", "1.7.4"),
    ("@sentry/nextjs", "7.110.0", "8.9.2"),
    ("tailwindcss", "3.4.3", "3.4.4"),
    ("zod", "3.22.4", "3.23.8"),
    ("eslint", "8.57.0", "9.5.0"),
    ("typescript", "5.4.5", "5.5.2"),
    ("@tanstack/react-query", "5.40.0", "5.45.1"),
)

# Why builds fail: (error stored on the deployment, the last lines of its log, failing stage)
FAILURES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "Build failed: Type error in src/components/Cart.tsx:42:17 — Property 'discountCode' "
        "does not exist on type 'CartProps'.",
        (
            "Failed to compile.",
            "",
            "./src/components/Cart.tsx:42:17",
            "Type error: Property 'discountCode' does not exist on type 'CartProps'.",
            "",
            "  40 |   return (",
            "  41 |     <CartSummary",
            "> 42 |       discount={props.discountCode}",
            "     |                       ^",
            'Error: Command "npm run build" exited with 1',
        ),
        "types",
    ),
    (
        "Build failed: Module not found: Can't resolve '@/lib/analytics' in src/app/layout.tsx",
        (
            "Failed to compile.",
            "",
            "./src/app/layout.tsx",
            "Module not found: Can't resolve '@/lib/analytics'",
            "",
            "https://nextjs.org/docs/messages/module-not-found",
            "",
            "> Build failed because of webpack errors",
            'Error: Command "npm run build" exited with 1',
        ),
        "compile",
    ),
    (
        "Install failed: npm ci ERESOLVE could not resolve the dependency tree "
        "(peer react@^17 from react-helmet@6.1.0)",
        (
            "npm ERR! code ERESOLVE",
            "npm ERR! ERESOLVE could not resolve",
            "npm ERR!",
            "npm ERR! While resolving: react-helmet@6.1.0",
            "npm ERR! Found: react@18.3.1",
            "npm ERR! Could not resolve dependency:",
            'npm ERR! peer react@"^17.0.0" from react-helmet@6.1.0',
            "npm ERR! Fix the upstream dependency conflict, or retry with --legacy-peer-deps",
            'Error: Command "npm ci" exited with 1',
        ),
        "install",
    ),
    (
        "Build exceeded the 8192 MB memory limit (JavaScript heap out of memory)",
        (
            "<--- Last few GCs --->",
            "[412:0x6c0c3a0]   181244 ms: Mark-Compact 8046.1 (8230.4) -> 8031.7 (8232.1) MB",
            "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
            "Build exceeded the memory limit of the build container (8192 MB).",
            'Error: Command "npm run build" exited with 134',
        ),
        "compile",
    ),
    (
        'Build failed: Error occurred prerendering page "/pricing": TypeError: Cannot read '
        "properties of undefined (reading 'map')",
        (
            'Error occurred prerendering page "/pricing". Read more: '
            "https://nextjs.org/docs/messages/prerender-error",
            "TypeError: Cannot read properties of undefined (reading 'map')",
            "    at PricingTable (/anchor/build/.next/server/app/pricing/page.js:1:4821)",
            "> Export encountered errors on following paths:",
            "\t/pricing/page: /pricing",
            'Error: Command "npm run build" exited with 1',
        ),
        "pages",
    ),
    (
        "Build failed: environment variable NEXT_PUBLIC_API_URL is not set for this branch",
        (
            "Error: NEXT_PUBLIC_API_URL is required but was not set.",
            "    at Object.<anonymous> (/anchor/build/next.config.mjs:7:9)",
            "Add it under Project Settings → Environment Variables for the Preview environment.",
            'Error: Command "npm run build" exited with 1',
        ),
        "compile",
    ),
    (
        "Build timed out after 45 minutes",
        (
            "Build exceeded the maximum duration of 45 minutes and was stopped.",
            "The last step still running was: npm run build",
        ),
        "timeout",
    ),
)


# --- what the generator returns ----------------------------------------------------------------


@dataclass(frozen=True)
class ProjectPlan:
    """A project's identity, drawn from the seed alone (no times): the anchor is found from it."""

    project_id: str
    name: str
    repo_url: str
    branch: str
    framework: str
    age: timedelta  # how long before the anchor the project was created (whole seconds)
    version: int
    size: int  # deployments before --max-deployments caps it
    big: bool = False
    stuck: bool = False
    missing_log: bool = False
    in_flight: tuple[str, ...] = ()  # statuses of deployments running "now", oldest first


@dataclass(frozen=True)
class TenantPlan:
    """A tenant and its projects' identities."""

    index: int
    user_id: str
    company: str
    org: str
    projects: tuple[ProjectPlan, ...]


@dataclass(frozen=True)
class DemoArtifact:
    name: str
    body: bytes
    content_type: str


@dataclass(frozen=True)
class DemoDeployment:
    record: DeploymentSchema
    log: str | None  # None: no log (queued, canceled before it started, or deliberately lost)
    artifacts: tuple[DemoArtifact, ...] = ()


@dataclass
class DemoProject:
    plan: ProjectPlan
    record: ProjectSchema
    deployments: list[DemoDeployment] = field(default_factory=list)


@dataclass
class DemoTenant:
    plan: TenantPlan
    projects: list[DemoProject] = field(default_factory=list)

    @property
    def user_id(self) -> str:
        return self.plan.user_id


# --- plans: identities from the seed ----------------------------------------------------------


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(["anchor-demo", str(seed), *map(str, parts)]))


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(ID_ALPHABET) for _ in range(length))


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def plan_tenants(seed: int, count: int) -> list[TenantPlan]:
    """The first `count` demo tenants of `seed` (the same prefix whatever `count` is).

    Tenant 0's first project is the big one (pagination); tenant 1's second project has the
    stuck build; tenant 2's first project has the deployment whose log is missing (each falls
    back to the last tenant when there are fewer).
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
        elif stuck or roll < 0.12:
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
            ended = started + timedelta(seconds=duration * _FAIL_AT[failure[2]])
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
        artifacts = _artifacts(rng, plan, record)
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


# --- build logs ------------------------------------------------------------------------------

# Where in a build each failing stage stops (fraction of the usual build time); a build that
# times out hangs in "compile" and is stopped at TIMEOUT.
_FAIL_AT = {"install": 0.25, "compile": 0.55, "types": 0.7, "pages": 0.85}
_STAGES = ("clone", "install", "compile", "types", "pages", "deploy")
_BUILD_SHARE = 0.3 + 0.12 + 0.14  # compile, types and pages: what "Build Completed" times
_STAGE_SHARE = {
    "clone": 0.04,
    "install": 0.26,
    "compile": 0.3,
    "types": 0.12,
    "pages": 0.14,
    "deploy": 0.14,
}


def build_log(
    rng: random.Random,
    plan: ProjectPlan,
    record: DeploymentSchema,
    *,
    duration: float,
    anchor: datetime,
    failure: tuple[str, tuple[str, ...], str] | None = None,
    hung: bool = False,
) -> str:
    """The build log of a started deployment: npm and framework output with timings.

    Stages take their usual share of `duration` seconds; the log stops where the deployment
    did (its failure, its cancelation, or "now" for a running build). A `hung` build's log
    stops while it generates pages, hours before the anchor.
    """
    if record.started_at is None:
        raise ValueError(f"{record.deployment_id} never started, so it has no build log")
    stages = _stage_lines(rng, plan, record, duration)
    start = record.started_at
    if record.status is S.BUILDING:
        share = 0.76 if hung else 0.95
        stop_at = min(anchor, start + timedelta(seconds=duration * share))
    else:
        stop_at = record.ended_at or anchor
    span = max(1.0, (stop_at - start).total_seconds())
    out: list[str] = []
    position = 0.0
    fail_stage = failure[2] if failure else None
    if fail_stage == "timeout":
        fail_stage = "compile"
    for stage in _STAGES:
        share = _STAGE_SHARE[stage] * duration
        lines = stages[stage]
        for number, text in enumerate(lines):
            moment = start + timedelta(seconds=position + share * number / max(1, len(lines)))
            if moment > stop_at:
                break
            out.append(_stamp(moment, text))
            if fail_stage == stage and number >= len(lines) // 2:
                break
        if fail_stage == stage:
            break
        position += share
        if start + timedelta(seconds=position) > stop_at:
            break
    if failure:
        out += [_stamp(stop_at, text) for text in failure[1]]
    elif record.status is S.CANCELED:
        out.append(_stamp(stop_at, "Build was canceled."))
        out.append(_stamp(stop_at, "Canceled by a team member from the dashboard."))
    elif record.status is S.READY:
        out.append(_stamp(stop_at, f"Deployment completed in {_seconds(span)}"))
        out.append(_stamp(stop_at, "Status: Ready"))
    return "\n".join(out) + "\n"


def _stamp(moment: datetime, text: str) -> str:
    moment = moment.astimezone(UTC)
    return f"[{moment:%H:%M:%S}.{moment.microsecond // 1000:03d}] {text}"


def _seconds(value: float) -> str:
    return f"{value:.0f}s" if value < 120 else f"{value // 60:.0f}m {value % 60:.0f}s"


def _stage_lines(
    rng: random.Random, plan: ProjectPlan, record: DeploymentSchema, duration: float
) -> dict[str, list[str]]:
    """Each stage's lines; the timings they quote agree with the stage shares of `duration`."""
    repo = plan.repo_url.removeprefix("https://")
    packages = rng.randint(380, 1600)
    cached = rng.random() < 0.8
    clone = [
        f"Cloning {repo} (Branch: {record.branch}, Commit: {record.commit_sha[:7]})",
        f"Cloning completed: {duration * _STAGE_SHARE['clone'] * 0.4:.3f}s",
        "Restored build cache from previous deployment"
        if cached
        else "Skipping build cache, no previous deployment on this branch",
        "Running build in Singapore (ap-southeast-1), 4 cores, 8 GB",
    ]
    install = [
        'Running "install" command: `npm ci`...',
        "npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.",
        "npm WARN deprecated glob@7.2.3: Glob versions prior to v9 are no longer supported",
        f"added {packages} packages, and audited {packages + 1} packages "
        f"in {duration * _STAGE_SHARE['install'] * 0.9:.0f}s",
        f"{rng.randint(90, 260)} packages are looking for funding",
        "  run `npm fund` for details",
        "found 0 vulnerabilities"
        if rng.random() < 0.7
        else f"{rng.randint(1, 6)} moderate severity vulnerabilities",
    ]
    if plan.framework == "next":
        version = rng.choice(("14.2.3", "14.2.5", "14.2.14", "15.0.3"))
        compile_ = [
            f"Detected Next.js version: {version}",
            'Running "npm run build"',
            f"> {plan.name}@0.1.0 build",
            "> next build",
            f"  ▲ Next.js {version}",
            "   Creating an optimized production build ...",
            " ✓ Compiled successfully",
        ]
        types = ["   Linting and checking validity of types ..."]
        if rng.random() < 0.35:
            types += [
                "./src/components/ProductGrid.tsx",
                "27:6  Warning: React Hook useEffect has a missing dependency: 'filters'. "
                "Either include it or remove the dependency array.  react-hooks/exhaustive-deps",
            ]
        pages_total = rng.randint(6, 60)
        pages = [
            "   Collecting page data ...",
            f"   Generating static pages (0/{pages_total}) ...",
            f" ✓ Generating static pages ({pages_total}/{pages_total})",
            "   Finalizing page optimization ...",
            "",
            "Route (app)                              Size     First Load JS",
            *_routes(rng),
            "+ First Load JS shared by all            87.2 kB",
            "",
            "○  (Static)   prerendered as static content",
            "ƒ  (Dynamic)  server-rendered on demand",
        ]
    else:
        tool = "vite" if plan.framework == "vite" else "astro"
        compile_ = [
            f"Detected {'Vite' if tool == 'vite' else 'Astro'} project",
            'Running "npm run build"',
            f"> {plan.name}@0.0.0 build",
            f"> {'tsc -b && vite build' if tool == 'vite' else 'astro build'}",
            f"{tool} v{'5.3.1' if tool == 'vite' else '4.11.5'} building for production...",
            f"transforming... ✓ {rng.randint(180, 2400)} modules transformed.",
        ]
        types = ["rendering chunks..."]
        if rng.random() < 0.4:
            types.append(
                "(!) Some chunks are larger than 500 kB after minification. Consider using "
                "dynamic import() to code-split the application"
            )
        pages = [
            "computing gzip size...",
            f"dist/index.html                   {rng.uniform(0.4, 2):.2f} kB │ gzip:  0.31 kB",
            f"dist/assets/index-{_token(rng, 8)}.css   {rng.uniform(8, 60):.2f} kB │ gzip: "
            f"{rng.uniform(2, 12):.2f} kB",
            f"dist/assets/index-{_token(rng, 8)}.js   {rng.uniform(140, 720):.2f} kB │ gzip: "
            f"{rng.uniform(45, 210):.2f} kB",
            f"✓ built in {rng.uniform(3, 25):.2f}s",
        ]
    deploy = [
        f"Build Completed in /anchor/output [{duration * _BUILD_SHARE:.0f}s]",
        "Deploying outputs...",
        f"Uploading {rng.randint(40, 900)} static files to the edge",
        "Build outputs stored: build-manifest.json, output.tar.gz",
    ]
    return {
        "clone": clone,
        "install": install,
        "compile": compile_,
        "types": types,
        "pages": pages,
        "deploy": deploy,
    }


def _routes(rng: random.Random) -> list[str]:
    routes = ["/", "/about", "/pricing", "/blog", "/blog/[slug]", "/contact", "/api/health"]
    chosen = [*routes[: rng.randint(3, len(routes))], "/_not-found"]
    lines = []
    for number, route in enumerate(chosen):
        mark = "┌" if number == 0 else "└" if number == len(chosen) - 1 else "├"
        kind = "ƒ" if route.startswith("/api") or "[" in route else "○"
        size = f"{rng.uniform(0.1, 9):.1f} kB"
        first = f"{rng.uniform(87, 140):.1f} kB"
        lines.append(f"{mark} {kind} {route:<35}{size:>9}{first:>16}")
    return lines


# --- artifacts ---------------------------------------------------------------------------------


def _artifacts(
    rng: random.Random, plan: ProjectPlan, record: DeploymentSchema
) -> tuple[DemoArtifact, ...]:
    chunk = f"main-{_token(rng, 16)}.js"
    files = {
        "index.html": (
            f"<!doctype html><html><head><title>{plan.name}</title>"
            f'<script src="/static/{chunk}" defer></script></head>'
            f'<body><div id="root"></div><!-- {record.commit_sha[:7]} --></body></html>\n'
        ).encode(),
        f"static/{chunk}": (f"/* {plan.name} {record.commit_sha} */\n" * 40).encode(),
        "robots.txt": b"User-agent: *\nAllow: /\n",
    }
    archive = io.BytesIO()
    mtime = int((record.ended_at or record.created_at).timestamp())
    with tarfile.open(fileobj=archive, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(body), mtime, 0o644
            tar.addfile(info, io.BytesIO(body))
    manifest = {
        "deploymentId": record.deployment_id,
        "projectId": record.project_id,
        "commitSha": record.commit_sha,
        "branch": record.branch,
        "framework": plan.framework,
        "nodeVersion": "20.x",
        "files": {name: len(body) for name, body in files.items()},
        "builtAt": record.ended_at.isoformat() if record.ended_at else None,
    }
    return (
        DemoArtifact(
            "build-manifest.json",
            (json.dumps(manifest, indent=2) + "\n").encode(),
            "application/json",
        ),
        DemoArtifact(
            "output.tar.gz", gzip.compress(archive.getvalue(), mtime=0), "application/gzip"
        ),
    )
