"""Per-request counts of DynamoDB calls, for the request log (a botocore event hook)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from infra.core import aws

# The running count of the current request (or other unit of work); None outside one.
_calls: ContextVar[list[int] | None] = ContextVar("anchor_dynamodb_calls", default=None)
_HOOK_ID = "anchor-metrics-dynamodb-calls"


def _count(**_: Any) -> None:
    box = _calls.get()
    if box is not None:
        box[0] += 1


@contextmanager
def counting_dynamodb_calls() -> Iterator[Callable[[], int]]:
    """Count the DynamoDB API calls made in this context (thread or task); yields a function
    that returns the count so far. One call per API operation, each paginator page included."""
    # Registering is idempotent (unique_id), and follows the client when tests make a new one.
    aws.dynamodb().meta.events.register("before-call.dynamodb.*", _count, unique_id=_HOOK_ID)
    box = [0]
    token = _calls.set(box)
    try:
        yield lambda: box[0]
    finally:
        _calls.reset(token)
