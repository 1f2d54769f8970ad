"""The demo's build logs and artifacts: believable output of next, vite and astro builds."""

from __future__ import annotations

import gzip
import io
import json
import random
import tarfile
from datetime import UTC, datetime, timedelta

from deployments.schemas import DeploymentSchema
from infra.local.demo.cast import DemoArtifact, ProjectPlan, S, _token

# --- build logs ------------------------------------------------------------------------------

# Where in a build each failing stage stops (fraction of the usual build time); a build that
# times out hangs in "compile" and is stopped at TIMEOUT.
FAIL_AT = {"install": 0.25, "compile": 0.55, "types": 0.7, "pages": 0.85}
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


def artifacts_for(
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
