"""A spy over the whole test session: every DynamoDB call the code under test makes, checked at
the end. On a request path (a dashboard request being served) there must be no Scan, and every
Query of the console's tables must carry a `userId` condition inside DynamoDB — unless it is an
audited cross-tenant look-up (infra.core.scope). Installed by tests/conftest.py."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient

from infra.core.logs import request_id
from infra.core.scope import current_cross_tenant_reason


@dataclass
class Spy:
    calls: Counter[str] = field(default_factory=Counter)
    request_path_calls: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    cross_tenant: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, client: BaseClient, operation: str, params: dict[str, Any]) -> None:
        if client.meta.service_model.service_name != "dynamodb":
            return
        on_request = request_id.get() is not None
        table = str(params.get("TableName", ""))
        with self.lock:
            self.calls[operation] += 1
            if not on_request:
                return
            self.request_path_calls[operation] += 1
            if current_cross_tenant_reason():
                self.cross_tenant += 1
                return
            if operation == "Scan":
                self.violations.append(f"Scan of {table} while serving a request")
            if operation == "Query" and table.startswith("anchor-deploy-"):
                conditions = f"{params.get('KeyConditionExpression', '')} " + str(
                    params.get("FilterExpression", "")
                )
                if "userId" not in conditions:
                    self.violations.append(
                        f"Query of {table} {params.get('IndexName', '')} without a userId "
                        f"condition: {conditions.strip()}"
                    )


SPY = Spy()
_original = BaseClient._make_api_call


def _spied(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
    operation = self.meta.service_model.operation_model(operation_name).name
    SPY.record(self, operation, api_params)
    return _original(self, operation_name, api_params)


_spied._anchor_spy = True  # type: ignore[attr-defined]


def install() -> None:
    """Wrap botocore's one API entry point (once, however often this is called)."""
    if not getattr(BaseClient._make_api_call, "_anchor_spy", False):
        BaseClient._make_api_call = _spied  # type: ignore[method-assign]


def report() -> list[str]:
    lines = [
        f"DynamoDB spy: {sum(SPY.calls.values()):,} calls in the session, "
        f"{sum(SPY.request_path_calls.values()):,} while serving requests "
        f"({dict(SPY.request_path_calls)}), {SPY.cross_tenant} audited cross-tenant look-ups; "
        f"{len(SPY.violations)} violations"
    ]
    return lines + [f"  {v}" for v in SPY.violations[:20]]
