"""Input that used to reach a 500 is a 400 naming what was wrong (web.common.params): the log
viewer's signed link parameters, numbers written in other scripts, and dates at the calendar's
edges in the audit and export filters; the filters' own first and last days still work."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from deployments import logstore
from deployments import repository as deployments
from projects import repository as projects
from tests.factories import PUSH

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("aws_stage", ["moto"], indirect=True),
]

TENANT = "tenant-input"


@pytest.fixture
def deployment(aws_stage: str):
    project = projects.create_project(
        TENANT, {"name": "inputs", "repo_url": "https://github.com/i/inputs"}
    )
    made = deployments.create_deployment(TENANT, project.project_id, PUSH)
    logstore.put_build_log(made, "".join(f"line {n}\n" for n in range(1, 50)))
    return made


def said(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"start": "0", "line": "1", "v": "ab", "sig": "é"}, "sig: this log link is damaged"),
        ({"start": "0", "line": "1", "v": "é", "sig": "x"}, "v: this log link is damaged"),
        (
            {"from": "0", "line": "1", "v": "ab", "sig": "\U0001d7d8", "q": "x"},
            "sig: this log link",
        ),
        ({"goto": "²"}, "goto: must be a whole number"),
        ({"start": "٣"}, "start: must be a whole number"),
        ({"count": "\uff11"}, "count: must be a whole number"),
    ],
)
def test_a_damaged_log_link_is_a_400_naming_the_parameter(client_as, deployment, query, problem):
    url = reverse("admin:deployments_deployment_log_view", args=[TENANT, deployment.deployment_id])
    response = client_as("support").get(url, query)
    assert response.status_code == 400
    assert problem in said(response)


@pytest.mark.parametrize(
    ("query", "problem"),
    [({"offset": "²"}, "offset"), ({"etag": "é"}, "not an ETag"), ({"mark": "\x00"}, "mark")],
)
def test_the_live_tail_refuses_what_it_cannot_parse_with_a_400(
    client_as, deployment, query, problem
):
    url = reverse("admin:deployments_deployment_log_tail", args=[TENANT, deployment.deployment_id])
    response = client_as("support").get(url, query)
    assert response.status_code == 400
    assert problem in said(response)


def _get(client, url, query):
    response = client.get(url, query)
    if hasattr(response, "streaming_content"):
        return response, b"".join(response.streaming_content).decode()
    return response, said(response)


@pytest.mark.parametrize("edge", ["0001-01-01", "1969-12-31", "9999-12-31"])
@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("page", ["audit", "audit_export", "tenant_export"])
def test_a_date_at_the_calendars_edge_is_a_400_giving_the_range(
    client_as, deployment, page, name, edge
):
    args = [TENANT] if page == "tenant_export" else []
    extra = {"format": "csv"} if page == "tenant_export" else {}
    response, body = _get(
        client_as("support"), reverse(f"admin:{page}", args=args), {name: edge, **extra}
    )
    assert response.status_code == 400
    assert "must be a date from 1970-01-01 to 9999-12-30" in body


@pytest.mark.parametrize("page", ["audit", "audit_export", "tenant_export"])
def test_the_first_and_last_usable_days_filter_without_error(client_as, deployment, page):
    args = [TENANT] if page == "tenant_export" else []
    extra = {"format": "csv"} if page == "tenant_export" else {}
    query = {"since": "1970-01-01", "until": "9999-12-30", **extra}
    response, body = _get(client_as("support"), reverse(f"admin:{page}", args=args), query)
    assert response.status_code == 200
    if page == "tenant_export":
        assert deployment.deployment_id in body  # the whole window holds every deployment


@pytest.fixture
def superuser_client(django_user_model, aws_stage):
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.force_login(django_user_model.objects.create_superuser("root", password="z" * 20))
    return client


def test_view_on_site_for_a_model_without_a_table_is_a_404(superuser_client):
    from django.contrib.contenttypes.models import ContentType

    from projects.models import ProjectAccess

    unmanaged = ContentType.objects.get_for_model(ProjectAccess)
    for content_type in (str(unmanaged.pk), "\uff11", "999999", "9" * 30, "1" * 20_000):
        url = reverse("admin:view_on_site", args=[content_type, "1"])
        assert superuser_client.get(url).status_code == 404


def test_an_empty_to_field_is_a_400_on_the_stock_admin_pages(superuser_client, django_user_model):
    victim = django_user_model.objects.create_user("victim")
    for name in ("auth_user_change", "auth_user_delete"):
        url = reverse(f"admin:{name}", args=[victim.pk])
        assert superuser_client.get(url, {"_to_field": ""}).status_code == 400
        assert superuser_client.post(url, {"_to_field": ""}).status_code == 400
    assert django_user_model.objects.filter(pk=victim.pk).exists()  # nothing was deleted


def test_an_id_too_large_for_the_database_is_a_400(superuser_client):
    from django.contrib.auth.models import Group

    url = reverse("admin:auth_group_add")
    response = superuser_client.post(url, {"name": "big", "permissions": "9" * 30})
    assert response.status_code in (200, 400)  # the form again, or the 400: never a 500
    assert not Group.objects.filter(name="big").exists()


def _stored(deployment, **changed):
    """The deployment's stored item with `changed` attributes (None: removed), put back raw."""
    from infra.core import aws
    from infra.core.dynamo import from_item, to_item
    from infra.core.resources import DEPLOYMENTS

    items = aws.dynamodb().scan(TableName=DEPLOYMENTS.name())["Items"]
    item = next(
        from_item(i) for i in items if from_item(i).get("deploymentId") == deployment.deployment_id
    )
    item.update(changed)
    aws.dynamodb().put_item(TableName=DEPLOYMENTS.name(), Item=to_item(item))


def test_a_binary_attribute_shows_the_unreadable_page_not_a_500(client_as, deployment):
    _stored(deployment, projectId=b"\xff\x00", message=b"bytes")
    url = reverse("admin:deployments_deployment_detail", args=[TENANT, deployment.deployment_id])
    response = client_as("support").get(url)
    assert response.status_code == 200
    assert "Record could not be read" in said(response)


def test_find_on_a_deployment_stored_without_a_project_shows_what_is_stored(client_as, deployment):
    _stored(deployment, projectId=None)
    response = client_as("support").get(reverse("admin:find"), {"q": deployment.deployment_id})
    assert response.status_code == 200
    body = said(response)
    assert "Record could not be read" in body and deployment.deployment_id in body


def test_a_search_too_long_for_the_database_is_a_400_on_the_stock_admin_lists(superuser_client):
    url = reverse("admin:auth_user_changelist")
    assert superuser_client.get(url, {"q": "\U0001f600" * 2_000}).status_code == 400
    assert superuser_client.get(url, {"q": "root"}).status_code == 200
