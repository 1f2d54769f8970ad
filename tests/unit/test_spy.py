"""The session spy itself: it must see a request-path Scan or a Query without `userId`."""

from __future__ import annotations

from types import SimpleNamespace

from infra.core.logs import request_id
from infra.core.scope import cross_tenant
from tests.spy import Spy

DYNAMODB = SimpleNamespace(
    meta=SimpleNamespace(service_model=SimpleNamespace(service_name="dynamodb"))
)
QUERY = {"TableName": "anchor-deploy-test-projects", "KeyConditionExpression": "PK = :pk"}


def test_the_spy_flags_request_path_scans_and_queries_without_a_tenant():
    spy = Spy()
    token = request_id.set("req-1")
    try:
        spy.record(DYNAMODB, "Query", QUERY)
        spy.record(DYNAMODB, "Scan", {"TableName": "anchor-deploy-test-projects"})
        spy.record(DYNAMODB, "Query", {**QUERY, "FilterExpression": "userId = :userId"})
        with cross_tenant("audited look-up"):
            spy.record(DYNAMODB, "Query", QUERY)
    finally:
        request_id.reset(token)
    spy.record(DYNAMODB, "Scan", {"TableName": "anchor-deploy-test-projects"})  # offline: fine
    assert len(spy.violations) == 2
    assert spy.cross_tenant == 1
