"""Generated hostile data: malformed stored items on every dashboard page (both engines), hostile
input in every path parameter, query parameter and form field of every admin URL (enumerated from
the admin site's url patterns), cursor and filter — never a server error, never an invalid record
stored. `make reliability` runs it at full size and prints its figures."""

from __future__ import annotations

import contextlib
import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError
from django.test import Client
from django.urls import NoReverseMatch, reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deployments import logstore
from deployments import repository as deployments
from infra.core import aws
from infra.core.dynamo import from_item, to_item
from infra.core.errors import ValidationError
from infra.core.resources import DEPLOYMENTS, LOGS, PROJECTS, log_key
from infra.core.schemas import validate
from projects import repository as projects
from projects.schemas import CreateProjectSchema
from tests.reliability.conftest import scale

pytestmark = [pytest.mark.django_db]
ON_MOTO = pytest.mark.parametrize("aws_stage", ["moto"], indirect=True)
BOTH_ENGINES = pytest.mark.parametrize(
    "aws_stage", ["moto", pytest.param("ddblocal", marks=pytest.mark.contract)], indirect=True
)

TENANT = "tenant-hostile"
PUSH = {"commit_sha": "0123456789abcdef0123456789abcdef01234567", "message": "fine"}
FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.text(max_size=40),
    st.sampled_from(["", "exploded", "2026-13-45T99:00:00Z", "not a date", "ready ", "READY"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(alphabet="abcxyz", min_size=1, max_size=5), st.integers(), max_size=2),
    st.binary(min_size=1, max_size=8),
    st.frozensets(st.text(min_size=1, max_size=4), min_size=1, max_size=3),
)
# Index key attributes: DynamoDB refuses an item whose value there has another type than the
# index declares (tests/awsrules.py plays that on moto); the console must cope with the rest.
INDEX_KEYS = ["userId", "deploymentId", "projectStatus", "attention", "attentionAt"]
FIELDS = [
    "status",
    "commitSha",
    "createdAt",
    "updatedAt",
    "startedAt",
    "endedAt",
    "branch",
    "message",
    "error",
    "buildId",
    "projectId",
    *INDEX_KEYS,
]


def _good(project_id: str, n: int) -> dict[str, Any]:
    return {
        "deploymentId": f"dpl_{n:016d}",
        "projectId": project_id,
        "userId": TENANT,
        "commitSha": "abcdef1",
        "branch": "main",
        "status": "ready",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-01-01T00:00:00.000Z",
    }


@pytest.fixture
def victim(aws_stage: str):
    return projects.create_project(
        TENANT, {"name": "hostile", "repo_url": "https://github.com/h/hostile"}
    )


def dashboard_routes() -> list[Route]:
    """The console's own pages: the admin site's routes less Django's stock admin ones."""
    from django.contrib import admin

    stock = {p.name for p in admin.AdminSite.get_urls(admin.site) if getattr(p, "name", None)}
    return [
        r
        for r in admin_routes()
        if r.name not in stock and not r.name.startswith(("auth_", "admin_", "axes_"))
    ]


@BOTH_ENGINES
def test_generated_malformed_items_never_take_a_page_down(client_as, victim, aws_stage):
    client = client_as("operations")
    statuses: Counter[int] = Counter()
    refused: Counter[str] = Counter()
    good = deployments.create_deployment(TENANT, victim.project_id, PUSH)
    seen = {"n": 0}
    pages = dashboard_routes()

    @settings(max_examples=scale(ci=40, full=200), deadline=None, suppress_health_check=FIXTURES)
    @given(
        broken=st.dictionaries(st.sampled_from(FIELDS), junk, min_size=1, max_size=4),
        dropped=st.sets(st.sampled_from(FIELDS[:4]), max_size=2),
    )
    def one_bad_item(broken: dict[str, Any], dropped: set[str]) -> None:
        seen["n"] += 1
        n = 10**9 + seen["n"]
        dpl = f"dpl_{n:016d}"
        item = {**_good(victim.project_id, n), **broken}
        for name in dropped:
            item.pop(name, None)
        created = item.get("createdAt") if isinstance(item.get("createdAt"), str) else "x"
        item["PK"], item["SK"] = victim.project_id, f"DEPLOYMENT#{created}#{dpl}"
        try:
            aws.dynamodb().put_item(
                TableName=DEPLOYMENTS.name(),
                Item=to_item({k: v for k, v in item.items() if v != "" or k in INDEX_KEYS}),
            )
        except ClientError as error:
            # Only what AWS refuses too: an index key of another type, or empty.
            assert error.response["Error"]["Code"] == "ValidationException", error
            assert {"createdAt", *INDEX_KEYS} & set(broken), (broken, error)
            refused["refused by DynamoDB"] += 1
            return
        refused["stored"] += 1
        ids = {"user_id": TENANT, "project_id": victim.project_id, "deployment_id": dpl}
        for route in pages:
            url = reverse(f"admin:{route.name}", kwargs={k: ids[k] for k in route.converters})
            query = {"find": {"q": dpl}, "tenant_export": {"format": "csv"}}.get(route.name, {})
            response = client.get(url, query)
            if hasattr(response, "streaming_content"):
                body = b"".join(response.streaming_content)
                assert b"EXPORT INCOMPLETE" not in body, (route.name, item)
            statuses[response.status_code] += 1
            assert response.status_code < 500, (route.name, item)
        good_page = reverse(
            "admin:deployments_deployment_detail", args=[TENANT, good.deployment_id]
        )
        statuses[client.get(good_page).status_code] += 1

    one_bad_item()
    print(
        f"\n{seen['n']} malformed items on {aws_stage} ({dict(refused)}), "
        f"{sum(statuses.values())} page requests over {len(pages)} pages: {dict(statuses)}"
    )
    assert seen["n"] >= 30 and refused["stored"] >= 10
    assert not [code for code in statuses if code >= 500]


HOSTILE = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(
        [
            "\u202egnp.exe",
            "a\u200bb",
            "../../etc/passwd",
            "'; DROP TABLE x; --",
            "<script>alert(1)</script>",
            "%00",
            "prj_" + "a" * 16,
            "dpl_" + "0" * 16,
            "http://169.254.169.254/latest/meta-data",
            "https://localhost/a/b",
            "x" * 5000,
            "eyJzIjpbXX0:1abc:xyz",
        ]
    ),
)


OLD_TARGETS = {"edit", "url", "cursor", "status", "find"}


def _stored_projects_are_valid() -> int:
    """Every project item is one CreateProjectSchema accepts (test code may Scan)."""
    items = aws.dynamodb().scan(TableName=PROJECTS.name())["Items"]
    for item in map(from_item, items):
        validate(
            CreateProjectSchema,
            {"name": item["name"], "repo_url": item["repoUrl"], "branch": item["branch"]},
        )
    return len(items)


@ON_MOTO
def test_hostile_input_everywhere_is_a_4xx_never_a_500_and_never_stored(operations_user, victim):
    client = Client()
    client.force_login(operations_user)
    statuses: Counter[str] = Counter()
    per_target = scale(ci=150, full=1_000)
    per_new_target = scale(ci=50, full=1_000)  # the forms and filters issue 13 added
    edit = reverse("admin:projects_project_edit", args=[TENANT, victim.project_id])
    project_page = reverse("admin:projects_project_detail", args=[TENANT, victim.project_id])

    def record(target: str, response: Any) -> None:
        statuses[f"{target} {response.status_code}"] += 1
        assert response.status_code < 500, (target, response.status_code)

    def form_field(field: str) -> None:
        @settings(max_examples=per_target, deadline=None, suppress_health_check=FIXTURES)
        @given(value=HOSTILE)
        def one(value: str) -> None:
            current = projects.get_project(TENANT, victim.project_id)
            data = {
                "name": current.name,
                "repo_url": current.repo_url,
                "branch": current.branch,
                "expected_version": str(current.version),
                "reason": "fuzzing",
                field: value,
            }
            record(f"edit {field}", client.post(edit, data))

        one()

    def url_parameter(where: str) -> None:
        @settings(max_examples=per_target, deadline=None, suppress_health_check=FIXTURES)
        @given(value=HOSTILE)
        def one(value: str) -> None:
            value = re.sub(r"[/\x00-\x1f\x7f]", "", value) or "x"
            if where == "deployment_id":
                url = reverse("admin:deployments_deployment_detail", args=[TENANT, value])
            elif where == "project_id":
                url = reverse("admin:projects_project_detail", args=[TENANT, value])
            else:
                url = reverse("admin:tenant_detail", args=[value])
            record(f"url {where}", client.get(url))

        one()

    @settings(max_examples=per_target, deadline=None, suppress_health_check=FIXTURES)
    @given(cursor=HOSTILE, status=HOSTILE, query=HOSTILE)
    def query_parameters(cursor: str, status: str, query: str) -> None:
        record("cursor", client.get(project_page, {"cursor": cursor}))
        record("status", client.get(project_page, {"status": status}))
        record("find q", client.get(reverse("admin:find"), {"q": query}))

    shipped = deployments.create_deployment(TENANT, victim.project_id, PUSH)
    redeploy = reverse(
        "admin:deployments_deployment_redeploy", args=[TENANT, shipped.deployment_id]
    )

    def redeploy_field(field: str) -> None:
        @settings(max_examples=per_new_target, deadline=None, suppress_health_check=FIXTURES)
        @given(value=HOSTILE)
        def one(value: str) -> None:
            data = {"reason": "fuzzing the redeploy", "request_key": "k" * 32, field: value}
            record(f"redeploy {field}", client.post(redeploy, data))

        one()

    def filter_parameter(page: str, name: str) -> None:
        url = (
            reverse("admin:audit")
            if page == "audit"
            else reverse("admin:tenant_export", args=[TENANT])
        )

        @settings(max_examples=per_new_target, deadline=None, suppress_health_check=FIXTURES)
        @given(value=HOSTILE)
        def one(value: str) -> None:
            query = {name: value, **({"format": "csv"} if page == "export" else {})}
            response = client.get(url, query)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)  # a stream that fails mid-way counts too
            record(f"{page} {name}", response)

        one()

    for field in ("name", "repo_url", "branch", "reason"):
        form_field(field)
    for field in ("reason", "request_key"):
        redeploy_field(field)
    for name in ("staff", "kind", "tenant", "since", "before"):
        filter_parameter("audit", name)
    for name in ("project", "status", "until"):
        filter_parameter("export", name)
    for where in ("user_id", "project_id", "deployment_id"):
        url_parameter(where)
    query_parameters()
    stored = _stored_projects_are_valid()
    print(f"\nhostile input: {sum(statuses.values())} requests {dict(sorted(statuses.items()))}")
    print(f"stored projects, every one valid: {stored}")
    per_target_seen = Counter(target.rsplit(" ", 1)[0] for target in statuses.elements())
    assert min(per_target_seen.values()) >= per_new_target * 0.9, per_target_seen  # each target
    old_targets = {t: n for t, n in per_target_seen.items() if t.split()[0] in OLD_TARGETS}
    assert min(old_targets.values()) >= per_target * 0.9, old_targets


@ON_MOTO
def test_the_repository_refuses_what_the_forms_would(aws_stage):
    @settings(max_examples=scale(ci=200, full=1_000), deadline=None)
    @given(name=HOSTILE, repo_url=HOSTILE, branch=HOSTILE)
    def create(name: str, repo_url: str, branch: str) -> None:
        with contextlib.suppress(ValidationError):
            projects.create_project(TENANT, {"name": name, "repo_url": repo_url, "branch": branch})

    create()
    _stored_projects_are_valid()


# --- every parameter of every URL and every form field ------------------------------------------
#
# The URLs come from the admin site's own url patterns (AnchorAdminSite.get_urls(): the dashboard's
# routes and Django's stock admin pages), so a new page is covered the day it is added. For each
# one, and each method it answers, the parameters it reads are found by listening to the request's
# QueryDicts while a few plain requests are served (a parameter read only once another is given,
# such as the log viewer's `sig` after `goto`, is found on the next round). Every path parameter,
# query parameter and form field then gets values of each hostile class below.

HOSTILE_CLASSES: dict[str, list[str]] = {
    "non-ascii and astral": [
        "é",
        "日本語",
        "a\u0301",
        "\U0001f600",
        "\U0001d7d8\U0001d7d9",
        "\U0010ffff",
        "\u00a0",
        "ß\u0130\u0131",
        "prj_\u00e9" + "a" * 15,
        "\ud7ff\ue000",
    ],
    "nul and controls": [
        "\x00",
        "1\x00",
        "ready\x00",
        "\x01\x02\x1f",
        "\r\n",
        "\t",
        "\x7f",
        "\x85",
        "\u2028",
        "\ufeff1",
        "\x1b[31m",
    ],
    "fullwidth and right-to-left": [
        "\uff11\uff12\uff13",
        "\uff52\uff45\uff41\uff44\uff59",
        "\uff1d1+1",
        "\u202egnp.exe",
        "\u200f1",
        "\u0663",
        "\u00b2",
        "\u05e9\u05dc\u05d5\u05dd",
        "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",
        "\u2066x\u2069",
    ],
    "calendar edges": [
        "0001-01-01",
        "9999-12-31",
        "9999-12-30",
        "1970-01-01",
        "1969-12-31",
        "0000-00-00",
        "10000-01-01",
        "-0001-01-01",
        "2026-02-29",
        "2024-02-29",
        "2026-13-01",
        "9999-12-31T23:59:59.999Z",
        "0001-01-01T00:00:00+14:00",
    ],
    "very long": [
        "x" * 1_000,
        "9" * 400,
        "é" * 3_000,
        "\U0001f600" * 2_000,
        "a:b" * 2_000,
        "1" * 20_000,
    ],
    "type confusion": [
        "",
        "[]",
        "{}",
        "null",
        "true",
        "-1",
        "0",
        "1e308",
        "NaN",
        "Infinity",
        "1.5",
        "0x1f",
        '{"a": 1}',
        "%00",
        "%zz",
        "../../etc/passwd",
        "prj_0000000000000000",
        "dpl_0000000000000000",
        "eyJzIjpbXX0:1abc:xyz",
        "<script>alert(1)</script>",
    ],
}
REPEATED = "repeated"  # a parameter sent twice (a list where one value is expected)
GENERATED_PER_CLASS = 8  # at full size, values drawn at random (seeded) on top of the lists


def _generated(cls: str, rng: random.Random) -> str:
    """One random value of a hostile class (the full run adds these to the fixed lists)."""
    if cls == "non-ascii and astral":
        spans = [(0xA0, 0x24F), (0x4E00, 0x9FFF), (0x1F300, 0x1FAFF), (0x10000, 0x10FFFF)]
        return "".join(chr(rng.randint(*rng.choice(spans))) for _ in range(rng.randint(1, 12)))
    if cls == "nul and controls":
        controls = [*map(chr, range(0x20)), "\x7f", "\x85", "\u2028", "\u2029", "\ufeff"]
        return "".join(rng.choice([*controls, "1", "a"]) for _ in range(rng.randint(1, 8)))
    if cls == "fullwidth and right-to-left":
        spans = [(0xFF01, 0xFF5E), (0x0590, 0x05FF), (0x0600, 0x06FF), (0x202A, 0x202E)]
        return "".join(chr(rng.randint(*rng.choice(spans))) for _ in range(rng.randint(1, 10)))
    if cls == "calendar edges":
        year = rng.choice([0, 1, 2, 1969, 1970, 9998, 9999, 10000, rng.randint(0, 99999)])
        return f"{year:04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}"
    if cls == "very long":
        return rng.choice(["x", "9", "\u00e9", "\U0001f600", "%"]) * rng.randint(500, 20_000)
    return rng.choice(["[", "]", "{", "}", "null", "-", "0", "e", ".", '"', ":"]) * rng.randint(
        1, 5
    )


def hostile_values(cls: str, per_class: int, generated: int, seed: str) -> list[str]:
    """The class's first `per_class` listed values and `generated` random ones."""
    rng = random.Random(seed)
    return HOSTILE_CLASSES[cls][:per_class] + [_generated(cls, rng) for _ in range(generated)]


@dataclass(frozen=True)
class Route:
    name: str
    converters: tuple[str, ...]  # the path parameters, in order
    regex_kwargs: tuple[str, ...]


def admin_routes() -> list[Route]:
    """Every named route of the admin site, nested resolvers included."""
    from django.contrib import admin
    from django.urls import URLPattern, URLResolver
    from django.urls.resolvers import RegexPattern

    found: list[Route] = []

    def walk(patterns: list[Any]) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names = tuple(getattr(pattern.pattern, "converters", {}))
                regex = (
                    tuple(re.compile(pattern.pattern._regex).groupindex)
                    if isinstance(pattern.pattern, RegexPattern)
                    else ()
                )
                found.append(Route(pattern.name, names, regex))

    walk(admin.site.get_urls())
    return found


class _Listening:
    """The names read from any QueryDict (request.GET, request.POST) while it is on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from django.http import QueryDict

        self.names: set[str] = set()
        for method in ("get", "__getitem__", "__contains__", "getlist"):
            original = getattr(QueryDict, method)

            def spy(self_: Any, key: Any, *args: Any, _original: Any = original, **kw: Any) -> Any:
                if isinstance(key, str):
                    self.names.add(key)
                return _original(self_, key, *args, **kw)

            monkeypatch.setattr(QueryDict, method, spy)


def _send(client: Client, method: str, url: str, data: dict[str, Any]) -> Any:
    response = client.get(url, data) if method == "GET" else client.post(url, data)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)  # a stream that fails mid-way counts too
    return response


@pytest.fixture
def stage(aws_stage: str, django_user_model: Any) -> dict[str, str]:
    """A tenant with a project and deployments in each state the action pages know, a build log,
    an archived log, and a victim staff account and group for the stock admin pages."""
    from django.contrib.auth.models import Group

    project = projects.create_project(
        TENANT, {"name": "every url", "repo_url": "https://github.com/h/every"}
    )
    queued = deployments.create_deployment(TENANT, project.project_id, PUSH)
    ready = deployments.create_deployment(TENANT, project.project_id, PUSH)
    deployments.update_deployment_status(ready.deployment_id, "building")
    deployments.update_deployment_status(ready.deployment_id, "ready")
    logstore.put_build_log(ready, "".join(f"step {n}\nnpm ERR! {n}\n" for n in range(300)))
    archived = deployments.create_deployment(TENANT, project.project_id, PUSH)
    aws.s3().put_object(
        Bucket=LOGS.name(),
        Key=log_key(project.project_id, archived.deployment_id),
        Body=b"old\n",
        StorageClass="GLACIER",
    )
    victim = django_user_model.objects.create_user("victim", password="x" * 20, is_staff=True)
    group = Group.objects.create(name="victims")
    return {
        "user_id": TENANT,
        "project_id": project.project_id,
        "deployment_id": ready.deployment_id,
        "queued": queued.deployment_id,
        "archived": archived.deployment_id,
        "object_id": str(victim.pk),
        "id": str(victim.pk),
        "group": str(group.pk),
        "content_type_id": "1",
        "app_label": "auth",
    }


def _placeholders(route: Route, stage: dict[str, str]) -> dict[str, str]:
    values = {name: stage.get(name, "1") for name in (*route.converters, *route.regex_kwargs)}
    if route.name.startswith("auth_group_") and "object_id" in values:
        values["object_id"] = stage["group"]
    if route.name.endswith(("_cancel", "_fail")):
        values["deployment_id"] = stage["queued"]
    if route.name.endswith("_restore_log"):
        values["deployment_id"] = stage["archived"]
    return values


SENTINEL = "zzHOSTILEzz"
# The value a parameter is given while discovering what else a page reads ("1" unless a page
# reads its other parameters only for a particular one: the export's form only with format=csv).
DISCOVERY_SEEDS = {"format": "csv"}


@ON_MOTO
def test_every_parameter_of_every_url_and_form_field_is_never_a_server_error(
    stage, django_user_model, monkeypatch
):
    admin_user = django_user_model.objects.create_superuser("fuzzer", password="y" * 20)
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    per_class = scale(ci=1, full=len(max(HOSTILE_CLASSES.values(), key=len)))
    generated = scale(ci=0, full=GENERATED_PER_CLASS)
    sent: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    listening = _Listening(monkeypatch)
    targets: list[tuple[str, str, str, str]] = []  # (route, method, where, parameter)
    routes = admin_routes()
    answered: set[str] = set()

    def url_of(route: Route, values: dict[str, str]) -> str:
        return reverse(f"admin:{route.name}", kwargs=values)

    def path_with(route: Route, values: dict[str, str], name: str, value: str) -> str:
        """The route's URL with `value` percent-encoded in place of path parameter `name`."""
        encoded = quote(value, safe="") or "%20"
        try:
            return url_of(route, {**values, name: SENTINEL}).replace(SENTINEL, encoded)
        except NoReverseMatch:  # a regex parameter (the app list's app_label): swap its segment
            segment = f"/{values[name]}/"
            return url_of(route, values).replace(segment, f"/{encoded}/", 1)

    def hit(method: str, url: str, data: dict[str, Any], label: str) -> Any:
        response = _send(client, method, url, data)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            errors.append(f"{label}: {response.status_code}")
        if "logout" in url:
            client.force_login(admin_user)
        return response

    # Discovery: which methods each route answers and which parameters it reads.
    for route in routes:
        values = _placeholders(route, stage)
        url = url_of(route, values)
        for method in ("GET", "POST"):
            listening.names.clear()
            if hit(method, url, {}, f"{route.name} {method} plain").status_code == 405:
                continue
            answered.add(route.name)
            read: set[str] = set()
            fresh = set(listening.names)
            for _round in range(3):
                read |= fresh
                listening.names.clear()
                for name in sorted(fresh):
                    seed = DISCOVERY_SEEDS.get(name, "1")
                    hit(method, url, {name: seed}, f"{route.name} {method} {name}={seed}")
                fresh = listening.names - read
                if not fresh:
                    break
            targets += [
                (route.name, method, "query" if method == "GET" else "form", n)
                for n in sorted(read)
            ]
            targets += [
                (route.name, method, "path", n) for n in (*route.converters, *route.regex_kwargs)
            ]
    by_route = {route.name: route for route in routes}
    discovered = {(r, m, n) for r, m, _w, n in targets}
    # The discovery must find what the pages are known to read (else it proves nothing).
    for expected in (
        ("deployments_deployment_log_view", "GET", "sig"),
        ("deployments_deployment_log_view", "GET", "goto"),
        ("deployments_deployment_log_tail", "GET", "mark"),
        ("audit", "GET", "until"),
        ("tenant_export", "GET", "since"),
        ("projects_project_detail", "GET", "cursor"),
        ("projects_project_edit", "POST", "repo_url"),
        ("deployments_deployment_redeploy", "POST", "request_key"),
        ("find", "GET", "q"),
    ):
        assert expected in discovered, expected

    # The attack: each hostile class on each parameter, one parameter at a time.
    for route_name, method, where, name in targets:
        route = by_route[route_name]
        values = _placeholders(route, stage)
        for cls in HOSTILE_CLASSES:
            for value in hostile_values(cls, per_class, generated, f"{route_name}{name}{cls}"):
                label = f"{route_name} {method} {where} {name}={value[:30]!r} ({cls})"
                if where == "path":
                    hit(method, path_with(route, values, name, value), {}, label)
                else:
                    hit(method, url_of(route, values), {name: value}, label)
                sent[cls] += 1
        if where != "path":
            hit(method, url_of(route, values), {name: ["1", "\x00"]}, f"{route_name} {name} twice")
            sent[REPEATED] += 1

    routes_hit = len(answered)
    print(
        f"\nhostile input over every URL: {len(routes)} routes, {routes_hit} answering, "
        f"{len(targets)} parameters (path, query and form)"
    )
    print(f"requests sent per class: {dict(sent)}; {sum(sent.values())} in all")
    print(f"status counts: {dict(sorted(statuses.items()))}")
    print(f"server errors: {len(errors)}")
    for line in errors[:20]:
        print(f"  {line}")
    assert not errors
    assert routes_hit == len(routes)  # every named route answered at least one method
