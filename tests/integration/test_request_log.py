"""The request log: one line per request with its id, staff user, view, status, duration and
DynamoDB call count, written as one JSON object per line when LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging

import pytest
from django.urls import reverse

from infra.core.logs import JsonFormatter
from projects import repository as projects

pytestmark = pytest.mark.django_db

TENANT = "tenant-a"


def request_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "anchor.request"]


@pytest.mark.parametrize("aws_stage", ["moto"], indirect=True)
def test_a_dashboard_page_is_one_json_line_with_everything_a_platform_needs(
    support_client, support_user, dynamodb_calls, caplog
):
    projects.create_project(TENANT, {"name": "shop", "repo_url": "https://github.com/a/shop"})
    dynamodb_calls.clear()
    caplog.set_level(logging.INFO, logger="anchor.request")

    response = support_client.get(
        reverse("admin:tenant_detail", args=[TENANT]), HTTP_X_REQUEST_ID="lb-req-42"
    )

    assert response.status_code == 200
    assert response["X-Request-ID"] == "lb-req-42"
    (record,) = request_records(caplog)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["request_id"] == "lb-req-42"
    assert entry["user"] == support_user.username
    assert entry["view"] == "admin:tenant_detail"
    assert entry["status"] == 200
    assert entry["method"] == "GET"
    assert entry["duration_ms"] > 0
    assert entry["dynamodb_calls"] == len(dynamodb_calls) > 0
    assert entry["level"] == "INFO" and entry["logger"] == "anchor.request"


def test_an_untrusted_request_id_is_replaced_and_each_request_gets_its_own(client_as, caplog):
    caplog.set_level(logging.INFO, logger="anchor.request")
    client = client_as("support")

    first = client.get("/admin/", HTTP_X_REQUEST_ID="not a valid id\nforged: line")
    second = client.get("/admin/")

    ids = [first["X-Request-ID"], second["X-Request-ID"]]
    assert all(len(i) == 32 for i in ids) and ids[0] != ids[1]
    logged = [json.loads(JsonFormatter().format(r)) for r in request_records(caplog)]
    assert [entry["request_id"] for entry in logged] == ids


def test_plain_format_is_one_readable_line(support_client, caplog):
    caplog.set_level(logging.INFO, logger="anchor.request")
    support_client.get("/admin/")

    (record,) = request_records(caplog)
    message = record.getMessage()
    assert message.startswith("GET /admin/ 200 ")
    assert "user=support-user view=admin:index dynamodb_calls=0" in message
