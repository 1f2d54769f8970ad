"""Hostile values in every path parameter, query parameter and form field of every admin URL
(enumerated from the admin site's url patterns): never a server error. `make reliability` runs it
at full size and prints its figures."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from deployments import logstore
from deployments import repository as deployments
from infra.core import aws
from infra.core.resources import LOGS, log_key
from projects import repository as projects
from tests.factories import PUSH
from tests.reliability.conftest import scale
from tests.reliability.hostile.conftest import ON_MOTO, TENANT, Route, admin_routes

pytestmark = [pytest.mark.django_db]


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
