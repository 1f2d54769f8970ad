"""The audit trail page and its CSV export: who did what, when, to which record, and why."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from staff.audit import audit
from staff.models import AuditEntry, AuditKind

pytestmark = pytest.mark.django_db

SGT = ZoneInfo("Asia/Singapore")
DEPLOYMENT = "dpl_0123456789abcdef"
PROJECT = "prj_0123456789abcdef"


@pytest.fixture
def actor(db) -> User:
    return User.objects.create_user(username="on-call-engineer", is_staff=True)


@pytest.fixture
def entry(actor) -> AuditEntry:
    return audit(
        actor,
        action=f"Cancel deployment {DEPLOYMENT} of tenant acme",
        object_id=DEPLOYMENT,
        kind=AuditKind.CANCEL,
        tenant="acme",
        reason="The tenant asked on the support chat",
        before={"status": "queued"},
        after={"status": "canceled"},
    )


def text(response) -> str:
    return response.content.decode()


def rows_of(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.mark.parametrize("role", ["support", "operations"])
def test_support_and_operations_read_who_did_what_why_and_to_which_record(client_as, entry, role):
    response = client_as(role).get(reverse("admin:audit"))

    assert response.status_code == 200
    page = text(response)
    assert "on-call-engineer" in page
    assert "Cancel deployment" in page  # the kind, in words
    assert "The tenant asked on the support chat" in page
    assert "status: queued → canceled" in page
    assert "When (SGT)" in page
    link = reverse("admin:deployments_deployment_detail", args=["acme", DEPLOYMENT])
    assert f'href="{link}"' in page
    assert f'href="{reverse("admin:tenant_detail", args=["acme"])}"' in page
    local = timezone.localtime(entry.action_time, SGT).strftime("%H:%M")
    assert local in page


@pytest.mark.parametrize("role", ["anonymous", "nonstaff"])
def test_others_are_sent_to_the_login_page(client_as, entry, role):
    for name in ("admin:audit", "admin:audit_export"):
        response = client_as(role).get(reverse(name))
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]


def test_a_staff_member_without_the_audit_permission_gets_the_403_page(client, entry):
    bare = User.objects.create_user(username="bare-staff", is_staff=True)
    client.force_login(bare)
    assert client.get(reverse("admin:audit")).status_code == 403
    assert client.get(reverse("admin:audit_export")).status_code == 403


def test_the_trail_cannot_be_changed_or_deleted_from_the_admin(entry):
    for name in ("admin:staff_auditentry_change", "admin:staff_auditentry_delete"):
        with pytest.raises(NoReverseMatch):
            reverse(name, args=[entry.pk])


def test_the_menu_links_the_audit_page_instead_of_the_stock_log_entries(client_as):
    page = text(client_as("support").get(reverse("admin:index")))
    assert f'href="{reverse("admin:audit")}"' in page
    assert "Audit trail" in page
    assert "Log entries" not in page


def test_filters_by_staff_member_kind_tenant_and_dates_are_in_the_url(client_as, actor):
    other = User.objects.create_user(username="night-shift", is_staff=True)
    audit(actor, action="Edited a", object_id=PROJECT, kind=AuditKind.EDIT_PROJECT, tenant="acme")
    audit(other, action="Canceled b", object_id=DEPLOYMENT, kind=AuditKind.CANCEL, tenant="zeta")
    old = audit(other, action="Canceled old", object_id=DEPLOYMENT, kind=AuditKind.CANCEL)
    AuditEntry.objects.filter(pk=old.pk).update(
        action_time=datetime(2026, 1, 10, 17, 0, tzinfo=ZoneInfo("UTC"))  # 11 Jan 01:00 SGT
    )
    client = client_as("support")
    url = reverse("admin:audit")

    def shown(**query: str) -> set[str]:
        response = client.get(url, query)
        assert response.status_code == 200
        page = text(response)
        return {m for m in ("Edited a", "Canceled b", "Canceled old") if m in page}

    assert shown(staff="night-shift") == {"Canceled b", "Canceled old"}
    assert shown(kind="edit_project") == {"Edited a"}
    assert shown(tenant="zeta") == {"Canceled b"}
    # Singapore days: 01:00 SGT on 11 January is 10 January in UTC, and still 11 January here.
    assert shown(since="2026-01-11", until="2026-01-11") == {"Canceled old"}
    assert shown(until="2026-01-10") == set()
    assert shown(kind="cancel", staff="night-shift", since="2026-01-12") == {"Canceled b"}


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"tenant": "not a tenant!"}, "A tenant id is 1 to 64 letters"),
        ({"since": "2026-02-02", "until": "2026-02-01"}, "must not be after the To date"),
        ({"since": "yesterday"}, "Enter a valid date"),
        ({"kind": "drop-table"}, "Select a valid choice"),
        ({"staff": "nobody-of-that-name"}, "Select a valid choice"),
    ],
)
def test_a_bad_filter_is_a_400_saying_what_is_wrong(client_as, entry, query, says):
    for name in ("admin:audit", "admin:audit_export"):
        response = client_as("support").get(reverse(name), query)
        assert response.status_code == 400
        assert says in text(response)


def test_pages_of_50_newest_first_with_older_and_newer_links(client_as, actor):
    for n in range(120):
        audit(actor, action=f"Action number {n:03d}.", kind=AuditKind.CANCEL, tenant="acme")
    client = client_as("support")
    url = reverse("admin:audit")

    def numbers(page: str) -> list[int]:
        return [int(x) for x in __import__("re").findall(r"Action number (\d{3})\.", page)]

    first = client.get(url, {"kind": "cancel"})
    assert numbers(text(first)) == list(range(119, 69, -1))
    older = first.context["links"]["older"]
    assert "kind=cancel" in older and first.context["links"]["newer"] is None
    second = client.get(url + older)
    assert numbers(text(second)) == list(range(69, 19, -1))
    third = client.get(url + second.context["links"]["older"])
    assert numbers(text(third)) == list(range(19, -1, -1))
    assert third.context["links"]["older"] is None
    back = client.get(url + third.context["links"]["newer"])
    assert numbers(text(back)) == list(range(69, 19, -1))
    assert client.get(url, {"before": "12x"}).status_code == 400


def test_the_export_streams_the_filtered_trail_as_safe_utf8_csv_and_is_audited(client_as, actor):
    audit(
        actor,
        action="Edited ☃ project",
        object_id=PROJECT,
        kind=AuditKind.EDIT_PROJECT,
        tenant="acme",
        reason='=HYPERLINK("http://evil")',
        before={"name": "@old"},
        after={"name": "+new"},
    )
    audit(actor, action="Something else", kind=AuditKind.CANCEL, tenant="zeta")

    response = client_as("support").get(reverse("admin:audit_export"), {"tenant": "acme"})

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    header, *rows = rows_of(response)
    assert header[:3] == ["time_sgt", "staff", "action"]
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["reason"] == '\'=HYPERLINK("http://evil")'
    assert row["before"] == "name: @old"  # not at the cell's start: harmless
    assert row["message"].startswith("Edited ☃ project")
    assert row["record_id"] == PROJECT
    exported = AuditEntry.objects.filter(kind=AuditKind.EXPORT).get()
    assert exported.username == "support-user"
    assert exported.after == {"filters": {"tenant": "acme"}}


def test_a_cell_a_spreadsheet_would_run_is_quoted():
    from web.common.csvstream import safe_cell

    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell("a=b") == "a=b"
    assert safe_cell(None) == ""


@pytest.mark.parametrize(
    "dangerous",
    [
        *(chr(code) + "=1+1" for code in range(0x20)),  # every C0 control, tab CR LF among them
        "\x7f=1+1",
        '\uff1dHYPERLINK("http://evil")',  # fullwidth = + - @
        "\uff0b1",
        "\uff0d1",
        "\uff20SUM(A1)",
    ],
)
def test_a_cell_starting_with_a_control_or_a_fullwidth_formula_sign_is_quoted(dangerous):
    from web.common.csvstream import csv_lines, safe_cell

    assert safe_cell(dangerous) == "'" + dangerous
    # Through the whole writer, as a spreadsheet reads the file: the cell comes back whole,
    # apostrophe first, whatever control it starts with.
    text = "".join(csv_lines(["a", "b"], [[dangerous, "x"]], what="test")).lstrip("\ufeff")
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["a", "b"], ["'" + dangerous, "x"]]


@pytest.mark.parametrize("harmless", ["a\tb", "x\uff1d1", "\u00e9=1", "1-2", "\u3000x"])
def test_a_cell_with_a_formula_sign_or_control_not_at_its_start_is_left_alone(harmless):
    from web.common.csvstream import safe_cell

    assert safe_cell(harmless) == harmless


def test_the_export_of_100000_entries_streams_in_flat_memory(client_as, actor):
    moment = timezone.now() - timedelta(days=1)
    AuditEntry.objects.bulk_create(
        AuditEntry(
            user=actor,
            username=actor.username,
            kind=AuditKind.LOOKUP,
            tenant="acme",
            object_id=f"dpl_{n:016d}",
            change_message=f"Cross-tenant look-up number {n} " + "x" * 80,
            action_time=moment,
        )
        for n in range(100_000)
    )
    response = client_as("support").get(reverse("admin:audit_export"))
    assert response.status_code == 200

    tracemalloc.start()
    lines = 0
    size = 0
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
        size += len(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert lines == 100_001  # the header and every entry
    assert size > 15_000_000
    # The whole file is over 15 MB; streaming holds about one 2,000-row chunk at a time.
    assert peak < 8_000_000, f"peak {peak:,} bytes while streaming {size:,}"
    print(f"audit export: {lines - 1:,} rows, {size:,} bytes, peak traced memory {peak:,} bytes")


def test_the_index_lists_the_staff_members_own_recent_actions_linked_to_their_records(
    client_as, entry
):
    mine = client_as("support")
    audit(
        User.objects.get(username="support-user"),
        action="Redeployed something",
        object_id=DEPLOYMENT,
        object_repr=f"deployment {DEPLOYMENT}",
        kind=AuditKind.REDEPLOY,
        tenant="acme",
    )
    page = text(mine.get(reverse("admin:index")))
    sidebar = page[page.index('id="recent-actions-module"') :]
    link = reverse("admin:deployments_deployment_detail", args=["acme", DEPLOYMENT])
    assert f'<a href="{link}">deployment {DEPLOYMENT}</a>' in sidebar
    assert "Redeploy, " in sidebar
    # The entry of another staff member (the fixture's) is not among "My actions".
    assert sidebar.count(DEPLOYMENT) == 2  # the link's URL and its text, once
