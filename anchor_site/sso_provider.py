"""Staff single sign-on's identity provider: its discovery document and every call made to it.

mozilla-django-oidc wants every endpoint as a setting; here they come from the issuer's
`.well-known/openid-configuration`, fetched on first use and kept for the process's life
(`discovery()`): fetching at start-up would make the console (and every manage.py command) fail
to start while the provider is briefly unreachable, and would put a network call in settings.
Until the provider answers, sign-in answers 503 and password login for superusers still works.

Everything the provider sends goes through one path: `fetch_json` reads an answer (size-capped,
JSON or not), anchor_site.sso_claims checks its shape, and only then does any code read a field.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import requests
from django.conf import settings

from anchor_site.sso_claims import ProviderBroken, check_discovery

_discovered: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()
# The largest answer read from the provider (a discovery document, key set, token response or
# userinfo answer is a few kilobytes).
MAX_ANSWER_BYTES = 256 * 1024


class ProviderUnavailable(Exception):
    """The identity provider cannot be reached, or answers with documents of the wrong shape."""


def fetch_json(method: str, url: str, what: str, **kwargs: Any) -> tuple[int, Any]:
    """(status, parsed JSON or None) of one call to the provider. Unreachable, too slow, too large
    or a server error is ProviderUnavailable; a body that is not JSON is None."""
    try:
        with requests.request(
            method, url, timeout=settings.OIDC_TIMEOUT, stream=True, allow_redirects=False, **kwargs
        ) as response:
            body = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
            status = response.status_code
    except (requests.RequestException, OSError, ValueError) as error:
        raise ProviderUnavailable(f"{what} at {url} could not be reached: {error}") from error
    if len(body) > MAX_ANSWER_BYTES:
        raise ProviderUnavailable(f"{what} at {url} answered more than {MAX_ANSWER_BYTES} bytes")
    if status >= 500 or 300 <= status < 400:
        raise ProviderUnavailable(f"{what} at {url} answered HTTP {status}")
    try:
        document = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        document = None
    return status, document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def discovery() -> dict[str, Any]:
    """The issuer's OpenID configuration, fetched once per process (and again after a failure)."""
    issuer = settings.OIDC_ISSUER
    with _lock:
        if issuer in _discovered:
            return _discovered[issuer]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    status, document = fetch_json("GET", url, "discovery")
    if status != 200:
        raise ProviderUnavailable(f"discovery at {url} answered HTTP {status}")
    try:
        document = check_discovery(document, issuer)
    except ProviderBroken as error:
        raise ProviderUnavailable(f"discovery at {url}: {error}") from error
    with _lock:
        _discovered[issuer] = document
    return document


def forget_discovery() -> None:
    """Drop the cached discovery document (tests start providers on new ports)."""
    with _lock:
        _discovered.clear()


def endpoint(name: str) -> str:
    return discovery()[name]
