"""The demo's cast and vocabulary: companies, projects, commit texts, failures, and the
records the generator returns. Pure data; nothing here calls AWS."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core.ids import ID_ALPHABET
from projects.schemas import ProjectSchema

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
    # Statuses of the deployments of the last hour (running "now", or the stuck project's
    # fresh failure), oldest first.
    in_flight: tuple[str, ...] = ()
    long_queued: bool = False  # its queued deployment has waited past the feed's threshold


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


# --- seeded randomness -------------------------------------------------------------------------


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(["anchor-demo", str(seed), *map(str, parts)]))


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(ID_ALPHABET) for _ in range(length))


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]
