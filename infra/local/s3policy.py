"""moto's bucket-policy check taught the one condition our buckets use: aws:SecureTransport.

Every bucket's policy denies requests that do not come over TLS (infra.core.resources,
`deny_insecure_transport`). AWS evaluates that statement's condition: a request over HTTPS is not
denied by it (IAM User Guide, "AWS global condition context keys", aws:SecureTransport; S3 User
Guide, "Bucket policy examples", "Managing access based on HTTP or HTTPS requests"). moto 5.2
ignores conditions altogether ("Conditions are not taken into account", moto/s3/responses.py), so
it takes that Deny to refuse every object request (GetObject, PutObject, HeadObject, DeleteObject
answer 403) while bucket-level calls go through.

`install(secure)` wraps moto's FakeBucket.get_permission so that a statement conditioned on
aws:SecureTransport alone applies only when the request's transport matches, as on AWS; every
other statement is left to moto as it was. `secure()` says whether the request being answered
came over TLS: the in-process tests answer boto3's own https:// endpoint; the local S3 server
(infra.local.s3server) decides per request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

SECURE_TRANSPORT = "aws:securetransport"


def _transport_condition(statement: dict[str, Any]) -> bool | None:
    """The transport a statement applies to (False: plain HTTP, True: TLS) when its only
    condition is `Bool aws:SecureTransport`; None for any other statement."""
    condition = statement.get("Condition")
    if not isinstance(condition, dict) or list(condition) != ["Bool"]:
        return None
    values = condition["Bool"]
    if not isinstance(values, dict) or [k.lower() for k in values] != [SECURE_TRANSPORT]:
        return None
    value = next(iter(values.values()))
    value = value if isinstance(value, list) else [value]
    if len(value) != 1 or str(value[0]).lower() not in {"true", "false"}:
        return None
    return str(value[0]).lower() == "true"


def applicable_policy(policy: str, *, secure: bool) -> str | None:
    """The policy without the statements whose aws:SecureTransport condition this request does
    not meet (None when no statement is left)."""
    document = json.loads(policy)
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    kept = [s for s in statements if _transport_condition(s) in {None, secure}]
    if not kept:
        return None
    return json.dumps({**document, "Statement": kept})


def install(secure: Callable[[], bool]) -> Callable[[], None]:
    """Make moto evaluate aws:SecureTransport conditions; returns the function that undoes it."""
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    original = FakeBucket.get_permission

    def get_permission(bucket: FakeBucket, action: str, resource: str) -> Any:
        if bucket.policy is None:
            return PermissionResult.NEUTRAL
        policy = applicable_policy(bucket.policy.decode(), secure=secure())
        if policy is None:
            return PermissionResult.NEUTRAL
        return IAMPolicy(policy).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]

    def undo() -> None:
        FakeBucket.get_permission = original  # type: ignore[method-assign]

    return undo


_LOOPBACK = {"127.0.0.1", "::1"}


def transport_middleware(
    app: Callable[..., Iterable[bytes]],
) -> tuple[Callable[..., Iterable[bytes]], Callable[[], bool]]:
    """For moto's server: the WSGI app noting each request's transport, and `secure()` for
    install(). HTTPS is TLS; so is a loopback connection here. The local server offers no TLS,
    and a request that never leaves the machine is what the policy's TLS rule protects a
    network request into; counting it as secure keeps the buckets' policy declared, applied and
    checked as on AWS while `make run`'s console reads its logs. A request from elsewhere over
    plain HTTP is refused, as on AWS."""
    transport = threading.local()

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        transport.secure = (
            environ.get("wsgi.url_scheme") == "https" or environ.get("REMOTE_ADDR") in _LOOPBACK
        )
        return app(environ, start_response)

    return wrapped, lambda: bool(getattr(transport, "secure", False))
