"""Generated malformed stored items on every dashboard page, both engines: never a server error."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from deployments import repository as deployments
from infra.core import aws
from infra.core.dynamo import to_item
from infra.core.resources import DEPLOYMENTS
from tests.factories import PUSH
from tests.reliability.conftest import scale
from tests.reliability.hostile.conftest import (
    BOTH_ENGINES,
    FIELDS,
    FIXTURES,
    INDEX_KEYS,
    TENANT,
    _good,
    dashboard_routes,
    junk,
)

pytestmark = [pytest.mark.django_db]


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
