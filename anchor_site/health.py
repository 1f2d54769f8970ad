"""Health checks outside the admin login: /healthz (the process answers) and /readyz (DynamoDB
and S3 answer for the stage's tables and buckets). Small JSON bodies, no tenant data."""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from infra.core import probes
from infra.core.resources import BUCKETS, TABLES

_lock = threading.Lock()
_cached: tuple[float, dict[str, str]] | None = None  # (monotonic time, results)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process serves requests; no AWS call."""
    return JsonResponse({"status": "ok"})


def _results() -> dict[str, str]:
    """The probes' results, at most READINESS_CACHE_SECONDS old (one probe at a time)."""
    global _cached
    with _lock:
        now = time.monotonic()
        if _cached is None or now - _cached[0] >= settings.READINESS_CACHE_SECONDS:
            results = probes.readiness(
                tables=[table.name() for table in TABLES],
                buckets=[bucket.name() for bucket in BUCKETS],
                region=settings.AWS_REGION,
                timeout=settings.READINESS_TIMEOUT_SECONDS,
            )
            _cached = (time.monotonic(), results)
        return _cached[1]


def forget_readiness() -> None:
    """Drop the cached result (tests, and anyone who has just fixed the data plane)."""
    global _cached
    with _lock:
        _cached = None


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when both tables and both buckets answer; 503 naming each one that did not."""
    results = _results()
    failed = {name: problem for name, problem in results.items() if problem != "ok"}
    if failed:
        return JsonResponse({"status": "unavailable", "failed": failed}, status=503)
    return JsonResponse({"status": "ready", "checked": sorted(results)})
