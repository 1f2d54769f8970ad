"""The needs-attention feed (admin:attention) and its sparse AttentionIndex, on moto and
DynamoDB Local: what it lists, who may see it, its audit entry, its cost in calls, and the index
kept by every write path (create, transitions, import, recount)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse

from deployments import attention
from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.dynamo import from_item
from infra.core.resources import ATTENTION_INDEX, DEPLOYMENTS, PROJECTS
from projects import repository as projects
from staff.models import AuditEntry

pytestmark = pytest.mark.usefixtures("aws_stage")

S = DeploymentStatus
URL = "/admin/attention/"
STUCK, QUEUED = timedelta(minutes=60), timedelta(minutes=15)
_serial = iter(range(10**9))


def _ago(**kw: float) -> datetime:
    moment = datetime.now(UTC) - timedelta(**kw)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def deployment(
    project: Any,
    status: S,
    *,
    created: datetime,
    started: datetime | None = None,
    ended: datetime | None = None,
    sha: str | None = None,
) -> DeploymentSchema:
    n = next(_serial)
    return DeploymentSchema(
        deployment_id=f"dpl_{n:016d}",
        project_id=project.project_id,
        user_id=project.user_id,
        commit_sha=sha or f"{n:040x}",
        branch="main",
        status=status,
        created_at=created,
        updated_at=ended or started or created,
        started_at=started,
        ended_at=ended,
    )


@pytest.fixture
def web():
    return projects.create_project("usr_a", {"name": "web", "repo_url": "https://github.com/a/w"})


@pytest.fixture
def api():
    return projects.create_project("usr_b", {"name": "api", "repo_url": "https://github.com/b/a"})


@pytest.fixture
def mixed(web, api) -> dict[str, DeploymentSchema]:
    """One deployment of every case the feed must show or leave out, in two tenants."""
    rows = {
        "stuck": deployment(
            web, S.BUILDING, created=_ago(hours=2, minutes=5), started=_ago(hours=2), sha="abc1234"
        ),
        "building": deployment(web, S.BUILDING, created=_ago(minutes=12), started=_ago(minutes=10)),
        "long_queued": deployment(api, S.QUEUED, created=_ago(minutes=30), sha="def5678"),
        "queued": deployment(api, S.QUEUED, created=_ago(minutes=2)),
        "error": deployment(
            api,
            S.ERROR,
            created=_ago(hours=3, minutes=9),
            started=_ago(hours=3, minutes=8),
            ended=_ago(hours=3),
            sha="0badf00d",
        ),
        "old_error": deployment(
            web, S.ERROR, created=_ago(hours=30), started=_ago(hours=30), ended=_ago(hours=29)
        ),
        "ready": deployment(
            web, S.READY, created=_ago(hours=5), started=_ago(hours=5), ended=_ago(hours=4)
        ),
        "canceled": deployment(web, S.CANCELED, created=_ago(hours=6), ended=_ago(hours=6)),
    }
    for project in (web, api):
        deployments.import_deployments(
            project.user_id,
            project.project_id,
            [d for d in rows.values() if d.project_id == project.project_id],
        )
    return rows


def feed(**kw: Any) -> attention.AttentionPage:
    return attention.attention_feed(stuck_after=STUCK, queued_after=QUEUED, **kw)


def ids(page: attention.AttentionPage) -> list[str]:
    return [row.deployment.deployment_id for row in page.rows]


def stored(d: DeploymentSchema) -> dict[str, Any]:
    item = aws.dynamodb().get_item(
        TableName=DEPLOYMENTS.name(),
        Key={
            "PK": {"S": d.project_id},
            "SK": {"S": f"DEPLOYMENT#{d.to_stored()['createdAt']}#{d.deployment_id}"},
        },
        ConsistentRead=True,
    )["Item"]
    return from_item(item)


def table_rows(html: str) -> list[str]:
    return re.findall(r"<tr class=\"anchor-attention-\w+\">(.*?)</tr>", html, re.S)


# --- what the page shows --------------------------------------------------------------------


def test_lists_stuck_long_queued_and_last_days_errors_newest_first_and_nothing_else(
    mixed, client_as
):
    html = client_as("support").get(URL).content.decode()

    rows = table_rows(html)
    wanted = [mixed["long_queued"], mixed["stuck"], mixed["error"]]  # queued 30 min, 2 h, 3 h ago
    assert [re.search(r"dpl_\d{16}", r).group() for r in rows] == [d.deployment_id for d in wanted]
    for key in ("building", "queued", "old_error", "ready", "canceled"):
        assert mixed[key].deployment_id not in html
    first, second, third = rows
    assert "Long queued" in first and "Stuck build" in second and "Failed" in third
    # Tenant link, project name (not its id) linked, short commit, age and the deployment link.
    long_queued = mixed["long_queued"]
    assert f'href="{reverse("admin:tenant_detail", args=["usr_b"])}">usr_b</a>' in first
    project_url = reverse("admin:projects_project_detail", args=["usr_b", long_queued.project_id])
    assert f'<a href="{project_url}">api</a>' in first
    assert ">def5678</code>" in first and "30m " in first
    detail = reverse(
        "admin:deployments_deployment_detail", args=["usr_b", long_queued.deployment_id]
    )
    assert f'href="{detail}"' in first
    assert ">web</a>" in second and ">abc1234</code>" in second and "2h 00m" in second
    assert ">0badf00d"[:8] in third and "3h 00m" in third


def test_the_admin_index_links_the_feed_first(client_as):
    html = client_as("support").get(reverse("admin:index")).content.decode()

    body = html.split('id="content"', 1)[1]
    assert re.findall(r'href="(/admin/[^"]*)"', body)[0] == URL
    assert html.index(f'href="{URL}"') < html.index('href="/admin/find/"')
    assert ">Needs attention</a>" in body


def test_a_kind_filter_shows_only_that_kind_and_a_bad_one_is_a_400(mixed, client_as):
    client = client_as("support")

    stuck = client.get(URL + "?kind=stuck").content.decode()
    assert [re.search(r"dpl_\d{16}", r).group() for r in table_rows(stuck)] == [
        mixed["stuck"].deployment_id
    ]
    bad = client.get(URL + "?kind=everything")
    assert bad.status_code == 400 and "is not one of" in bad.content.decode()
    assert client.get(URL + "?cursor=forged").status_code == 400


def test_an_empty_feed_says_nothing_needs_attention(client_as):
    html = client_as("operations").get(URL).content.decode()
    assert "Nothing needs attention right now." in html


# --- who may see it, and the audit ------------------------------------------------------------


@pytest.mark.parametrize("role", ["anonymous", "nonstaff"])
def test_anonymous_and_non_staff_get_the_admin_login_and_no_data(mixed, client_as, role):
    response = client_as(role).get(URL)

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("admin:login")
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("role", ["support", "operations"])
def test_support_and_operations_may_view_it(mixed, client_as, role):
    response = client_as(role).get(URL)

    assert response.status_code == 200
    assert mixed["stuck"].deployment_id in response.content.decode()


def test_a_visit_is_audited_once_not_on_paging_reloads_or_refreshes(mixed, client_as):
    client = client_as("support")

    client.get(URL)
    client.get(URL + "?kind=error")
    client.get(URL)
    refresh = client.get(URL, HTTP_X_ANCHOR_REFRESH="1")

    entries = list(AuditEntry.objects.all())
    assert len(entries) == 1
    assert entries[0].user.username == "support-user"
    assert "needs-attention feed" in entries[0].change_message
    assert "across all tenants" in entries[0].change_message
    assert (entries[0].kind, entries[0].tenant, entries[0].record_type) == ("attention", "", "")
    # A refresh answers with the list only, never the whole page.
    fragment = refresh.content.decode()
    assert refresh.status_code == 200 and "<html" not in fragment
    assert mixed["stuck"].deployment_id in fragment and "Checked at" in fragment
    # Another staff member's visit is their own entry.
    client_as("operations").get(URL)
    assert AuditEntry.objects.count() == 2


def test_the_page_carries_the_refresh_script_and_no_inline_script(client_as):
    html = client_as("support").get(URL).content.decode()

    assert re.search(r'<script src="[^"]*anchor/attention\.js" defer>', html)
    assert 'data-refresh-seconds="30"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # CSP: nothing inline


# --- the index: kept by every write, left on ready/canceled, errors age out ---------------------


def test_deployments_enter_and_leave_the_index_with_their_status(web):
    zero = {"stuck_after": timedelta(0), "queued_after": timedelta(0)}
    kept = deployments.create_deployment("usr_a", web.project_id, {"commit_sha": "abcdef1"})
    gone = deployments.create_deployment("usr_a", web.project_id, {"commit_sha": "abcdef2"})
    failed = deployments.create_deployment("usr_a", web.project_id, {"commit_sha": "abcdef3"})

    page = attention.attention_feed(**zero)
    assert {r.deployment.deployment_id: r.kind for r in page.rows} == {
        kept.deployment_id: "queued",
        gone.deployment_id: "queued",
        failed.deployment_id: "queued",
    }
    for d in (kept, gone, failed):
        deployments.update_deployment_status(d.deployment_id, S.BUILDING)
    page = attention.attention_feed(**zero)
    assert {r.kind for r in page.rows} == {"stuck"}
    deployments.update_deployment_status(kept.deployment_id, S.READY)
    deployments.transition_deployment("usr_a", gone.deployment_id, S.CANCELED)
    deployments.update_deployment_status(failed.deployment_id, S.ERROR, error="boom")

    page = attention.attention_feed(**zero)
    assert [(r.deployment.deployment_id, r.kind) for r in page.rows] == [
        (failed.deployment_id, "error")
    ]
    for d in (kept, gone):  # the keys are gone from the item itself, not only filtered out
        item = stored(d)
        assert "attention" not in item and "attentionAt" not in item
    assert stored(failed)["attention"].startswith("error#")


def test_errors_older_than_24_hours_are_not_shown_and_are_never_read(web):
    old = deployment(
        web,
        S.ERROR,
        created=_ago(hours=25),
        started=_ago(hours=25),
        ended=_ago(hours=24, seconds=5),
    )
    recent = deployment(
        web, S.ERROR, created=_ago(hours=23), started=_ago(hours=23), ended=_ago(hours=23)
    )
    ancient = deployment(
        web, S.ERROR, created=_ago(days=40), started=_ago(days=40), ended=_ago(days=40)
    )
    deployments.import_deployments("usr_a", web.project_id, [old, recent, ancient])

    assert ids(feed()) == [recent.deployment_id]
    # The 40-day-old error sits in its own day's partition, which no page ever queries.
    assert stored(ancient)["attention"] == f"error#{ancient.ended_at.date().isoformat()}"


def test_import_writes_the_keys_and_the_recount_restores_them(web):
    rows = [
        deployment(web, S.BUILDING, created=_ago(hours=3), started=_ago(hours=3)),
        deployment(web, S.QUEUED, created=_ago(hours=1)),
        deployment(web, S.READY, created=_ago(hours=2), started=_ago(hours=2), ended=_ago(hours=2)),
    ]
    deployments.import_deployments("usr_a", web.project_id, rows)
    building, queued, ready = (stored(d) for d in rows)
    assert building["attention"].startswith("building#")
    assert building["attentionAt"] == f"{rows[0].to_stored()['startedAt']}#{rows[0].deployment_id}"
    assert queued["attention"].startswith("queued#")
    assert "attention" not in ready
    assert ids(feed()) == [rows[1].deployment_id, rows[0].deployment_id]

    # A stage written before the index: no attention keys, project at derived version 1; and a
    # stray key on a ready deployment, which the recount removes.
    client = aws.dynamodb()
    for d in rows[:2]:
        client.update_item(
            TableName=DEPLOYMENTS.name(),
            Key={"PK": {"S": d.project_id}, "SK": {"S": stored(d)["SK"]}},
            UpdateExpression="REMOVE attention, attentionAt",
        )
    client.update_item(
        TableName=DEPLOYMENTS.name(),
        Key={"PK": {"S": web.project_id}, "SK": {"S": ready["SK"]}},
        UpdateExpression="SET attention = :a, attentionAt = :t",
        ExpressionAttributeValues={
            ":a": {"S": "queued#0"},
            ":t": {"S": "2000-01-01T00:00:00.000Z"},
        },
    )
    client.update_item(
        TableName=PROJECTS.name(),
        Key={"PK": {"S": web.project_id}, "SK": {"S": "METADATA"}},
        UpdateExpression="SET derivedVersion = :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    assert ids(feed()) == [rows[2].deployment_id]  # only the stray

    out = StringIO()
    call_command("recount_deployments", stdout=out)

    assert "Recounted 1 project(s) (3 deployments; 1 changed)" in out.getvalue()
    assert "3 status keys set" in out.getvalue()
    assert ids(feed()) == [rows[1].deployment_id, rows[0].deployment_id]
    assert "attention" not in stored(rows[2])
    assert projects.get_project("usr_a", web.project_id).derived_version == 2


# --- paging and cost --------------------------------------------------------------------------


def test_pages_forwards_and_back_across_shards_and_kinds_without_gaps(web, api):
    rows = (
        [
            deployment(web if i % 2 else api, S.QUEUED, created=_ago(minutes=20 + 3 * i))
            for i in range(14)
        ]
        + [
            deployment(
                web, S.BUILDING, created=_ago(hours=2, minutes=i), started=_ago(minutes=61 + 7 * i)
            )
            for i in range(9)
        ]
        + [
            deployment(
                api,
                S.ERROR,
                created=_ago(hours=i),
                started=_ago(hours=i),
                ended=_ago(minutes=50 * i + 1),
            )
            for i in range(12)
        ]
    )
    for project in (web, api):
        deployments.import_deployments(
            project.user_id,
            project.project_id,
            [d for d in rows if d.project_id == project.project_id],
        )
    everything = ids(feed(limit=100))
    assert sorted(everything) == sorted(d.deployment_id for d in rows)

    pages, cursor = [], None
    while True:
        page = feed(limit=6, cursor=cursor)
        pages.append(page)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert [len(p.rows) for p in pages] == [6, 6, 6, 6, 6, 5]
    assert [i for p in pages for i in ids(p)] == everything
    back = [ids(pages[-1])]
    cursor = pages[-1].previous_cursor
    while cursor:
        page = feed(limit=6, cursor=cursor)
        back.insert(0, ids(page))
        cursor = page.previous_cursor
    assert back == [ids(p) for p in pages]
    assert len({len(p.next_cursor or "") for p in pages[:-1]}) == 1  # constant-size cursors


def test_a_page_costs_ten_queries_and_one_batch_get_whatever_it_shows(
    mixed, client_as, dynamodb_calls
):
    client = client_as("support")
    dynamodb_calls.clear()

    client.get(URL)

    assert sorted(dynamodb_calls) == ["BatchGetItem"] + ["Query"] * 10
    dynamodb_calls.clear()
    client.get(URL, HTTP_X_ANCHOR_REFRESH="1")
    assert sorted(dynamodb_calls) == ["BatchGetItem"] + ["Query"] * 10


def test_the_next_page_costs_at_most_the_same(web, client_as, dynamodb_calls):
    rows = [deployment(web, S.QUEUED, created=_ago(minutes=20 + i)) for i in range(30)]
    deployments.import_deployments("usr_a", web.project_id, rows)
    client = client_as("support")
    html = client.get(URL).content.decode()
    assert len(table_rows(html)) == 25
    next_url = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    dynamodb_calls.clear()

    second = client.get(next_url).content.decode()

    assert len(table_rows(second)) == 5 and 'rel="next"' not in second
    assert dynamodb_calls.count("BatchGetItem") == 1 and dynamodb_calls.count("Query") <= 10


@pytest.mark.parametrize(
    "aws_stage", [pytest.param("ddblocal", marks=pytest.mark.contract)], indirect=True
)
def test_the_index_costs_the_same_calls_at_10_and_10000_in_flight_deployments(
    client_as, dynamodb_calls: list[str], capsys: pytest.CaptureFixture[str]
):
    """On DynamoDB Local: 10 in-flight deployments, then 10,000 (bulk-loaded), same calls."""
    tenants = [
        projects.create_project(
            f"usr_{t}", {"name": f"site-{t}", "repo_url": "https://github.com/t/r"}
        )
        for t in range(4)
    ]

    def load(count: int, offset: int) -> None:
        for t, project in enumerate(tenants):
            batch = [
                deployment(
                    project,
                    S.BUILDING if i % 2 else S.QUEUED,
                    created=_ago(hours=3, seconds=offset + i),
                    started=_ago(hours=2, seconds=offset + i) if i % 2 else None,
                )
                for i in range(t, count, len(tenants))
            ]
            deployments.import_deployments(project.user_id, project.project_id, batch)

    client = client_as("support")
    counts: dict[int, tuple[list[str], int]] = {}
    items_read: list[int] = []

    def count_items(parsed: dict[str, Any], **_: Any) -> None:
        items_read.append(int(parsed.get("ScannedCount", 0)))

    events = aws.dynamodb().meta.events
    events.register("after-call.dynamodb.Query", count_items, unique_id="attention-items")
    try:
        for total, added, offset in ((10, 10, 0), (10_000, 9_990, 10)):
            load(added, offset)
            dynamodb_calls.clear()
            items_read.clear()
            html = client.get(URL).content.decode()
            counts[total] = (sorted(dynamodb_calls), sum(items_read))
            assert len(table_rows(html)) == (10 if total == 10 else 25)
    finally:
        events.unregister("after-call.dynamodb.Query", unique_id="attention-items")

    small, large = counts[10], counts[10_000]
    with capsys.disabled():
        print(
            f"\nattention page: {len(small[0])} calls / {small[1]} items read at 10 in-flight, "
            f"{len(large[0])} calls / {large[1]} items read at 10,000 in-flight"
        )
    assert small[0] == large[0] == ["BatchGetItem"] + ["Query"] * 10
    assert large[1] <= 8 * 26 + 2 * 27  # at most a page and one per partition read


def test_the_feed_never_scans(mixed, client_as, dynamodb_calls):
    client_as("support").get(URL)
    assert "Scan" not in dynamodb_calls
    indexes = set()
    original = aws.dynamodb().query

    def spy(**kw: Any) -> Any:
        indexes.add(kw.get("IndexName"))
        return original(**kw)

    aws.dynamodb().query = spy  # type: ignore[method-assign]
    try:
        feed()
    finally:
        del aws.dynamodb().query
    assert indexes == {ATTENTION_INDEX}


def test_the_demo_data_puts_a_stuck_build_a_long_queued_one_and_a_fresh_error_on_the_feed(
    client_as,
):
    call_command(
        "seed_demo",
        *("--tenants", "3", "--max-deployments", "30", "--workers", "1"),
        stdout=StringIO(),
        stderr=StringIO(),
    )

    html = client_as("support").get(URL).content.decode()

    kinds = re.findall(r'<tr class="anchor-attention-(\w+)">', html)
    assert {"stuck", "queued", "error"} <= set(kinds)


def test_a_record_the_schema_rejects_is_reported_not_a_server_error(mixed, client_as):
    aws.dynamodb().put_item(
        TableName=DEPLOYMENTS.name(),
        Item={
            "PK": {"S": "prj_broken0000000000"},
            "SK": {"S": "DEPLOYMENT#2026-01-01T00:00:00.000Z#dpl_broken0000000000"},
            "status": {"S": "queued"},
            "attention": {"S": "queued#1"},
            "attentionAt": {"S": "2026-01-01T00:00:00.000Z#dpl_broken0000000000"},
        },
    )

    response = client_as("support").get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert "1 record could not be read" in html
    assert len(table_rows(html)) == 3
