"""Faults injected below botocore's retry loop: a `before-send` handler that answers in place of
AWS (throttling, a 500 before or after the request took effect, a refusal), so botocore's real
retries, the repository's own retries and the error pages all run as they would against AWS.

Registered first, ahead of moto's own stubber (which is a `before-send` handler too). "After"
faults first deliver the request — to moto's stubber in-process, or over HTTP to DynamoDB Local
through botocore's own HTTP session — and then lose the answer.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from botocore.httpsession import URLLib3Session

# (operation name, attempt, botocore's max attempts) -> fault name, or None to let it through
Decide = Callable[[str, int, int], str | None]


@dataclass
class FaultLog:
    """What was injected, per operation and fault, and every attempt seen."""

    attempts: Counter[str] = field(default_factory=Counter)
    injected: Counter[tuple[str, str]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


_BODIES = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "throttle-s3": (503, "SlowDown", "Please reduce your request rate."),
    "500-before": (500, "InternalServerError", "injected: lost before it took effect"),
    "500-after": (500, "InternalServerError", "injected: took effect, answer lost"),
    "denied": (400, "AccessDeniedException", "injected: not authorized"),
    "denied-s3": (403, "AccessDenied", "Access Denied"),
    "invalid": (400, "ValidationException", "injected: a malformed request"),
    "missing-table": (400, "ResourceNotFoundException", "Requested resource not found"),
}


class _Raw:
    """The minimal raw body botocore reads from a response."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _answer(url: str, fault: str, service: str, request: Any = None) -> AWSResponse:
    if fault == "txn-throttle":  # a transaction cancelled because one of its items throttled
        items = len(json.loads(request.body or b"{}").get("TransactItems", [])) or 1
        reasons = [{"Code": "ThrottlingError", "Message": "Throughput exceeds the limit"}]
        reasons += [{"Code": "None"}] * (items - 1)
        body = json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "message": "Transaction cancelled, please refer cancellation reasons for specific"
                " reasons [ThrottlingError]",
                "CancellationReasons": reasons,
            }
        ).encode()
        return AWSResponse(url, 400, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body))
    status, code, message = _BODIES[fault]
    if service == "s3":
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error>"
        ).encode()
        headers = {"Content-Type": "application/xml"}
    else:
        body = json.dumps(
            {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}
        ).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0"}
    return AWSResponse(url, status, headers, _Raw(body))


@contextmanager
def inject(client: Any, decide: Decide) -> Iterator[FaultLog]:
    """Answer `client`'s calls per `decide(operation)` inside the block (None: let it through)."""
    log = FaultLog()
    service = client.meta.service_model.service_name
    sender = URLLib3Session()
    stubber = _moto_stubber(client)

    def handler(request: Any, event_name: str, **kwargs: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        attempt, most = _attempt(request)
        fault = decide(operation, attempt, most)
        with log.lock:
            log.attempts[operation] += 1
            if fault:
                log.injected[(operation, fault)] += 1
        if fault is None:
            return None
        if fault in ("timeout-before", "timeout-after"):
            if fault == "timeout-after":
                _deliver(stubber, sender, request, event_name, kwargs)
            raise ReadTimeoutError(endpoint_url=request.url)
        if fault == "500-after":
            delivered = (
                stubber(request=request, event_name=event_name, **kwargs) if stubber else None
            )
            if delivered is None:
                sender.send(request)  # a real endpoint (DynamoDB Local): deliver it for real
        return _answer(request.url, fault, service, request)

    client.meta.events.register_first("before-send", handler, unique_id="test-faults")
    try:
        yield log
    finally:
        client.meta.events.unregister("before-send", unique_id="test-faults")


def _deliver(stubber: Any, sender: Any, request: Any, event_name: str, kwargs: dict) -> None:
    """Let the request take effect (moto's stubber in-process, else the real endpoint)."""
    delivered = stubber(request=request, event_name=event_name, **kwargs) if stubber else None
    if delivered is None:
        sender.send(request)


def _attempt(request: Any) -> tuple[int, int]:
    """(attempt, max attempts) from botocore's `amz-sdk-request: attempt=N; max=M` header."""
    header = request.headers.get("amz-sdk-request", b"")
    if isinstance(header, bytes):
        header = header.decode()
    fields = dict(part.strip().split("=", 1) for part in header.split(";") if "=" in part)
    return int(fields.get("attempt", 1)), int(fields.get("max", 1))


def _moto_stubber(client: Any) -> Callable[..., Any] | None:
    """moto's own before-send handler when moto's mock is active and the client's endpoint is
    AWS's own (moto lets other endpoints through), else None."""
    if "amazonaws.com" not in client.meta.endpoint_url:
        return None
    from moto.core.models import botocore_stubber

    return botocore_stubber if botocore_stubber.enabled else None


def sometimes(
    rate: float,
    fault: str,
    *,
    seed: int = 7,
    only: set[str] | None = None,
    spare_last: bool = False,
) -> Decide:
    """A fault on about `rate` of the attempts (of `only` these operations, if given). With
    `spare_last`, never on botocore's last allowed attempt: each call then meets the fault on
    some of its tries but gets an answer in the end (a lost answer, not an outage)."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def decide(operation: str, attempt: int, most: int) -> str | None:
        if only is not None and operation not in only:
            return None
        if spare_last and attempt >= most:
            return None
        with lock:
            return fault if rng.random() < rate else None

    return decide


def always(fault: str, *, only: set[str] | None = None) -> Decide:
    return lambda operation, *_: fault if only is None or operation in only else None


def mixed(*rules: Decide) -> Decide:
    """The first fault any rule gives."""

    def decide(operation: str, attempt: int, most: int) -> str | None:
        for rule in rules:
            fault = rule(operation, attempt, most)
            if fault:
                return fault
        return None

    return decide
