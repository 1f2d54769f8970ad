"""The test OpenID Connect provider (provider.mjs, npm's oidc-provider) as a Python context
manager: a fresh RSA signing key, clients and accounts written to a config file, `node` on a free
loopback port, stopped on exit."""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.local import processes

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "provider.mjs"
PACKAGE = HERE / "node_modules" / "oidc-provider" / "package.json"


def cannot_run(reason: str) -> None:
    """CI must run the SSO tests; anywhere else a missing provider is a skip, with the reason."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"the single sign-on tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"single sign-on tests skipped: {reason}")


def require_provider() -> str:
    """The node executable, or a skip (a failure under CI=true) saying what is missing."""
    node = shutil.which("node")
    if node is None:
        cannot_run("node is not installed (Debian's npm package brings it)")
    if not PACKAGE.exists():
        cannot_run("tests/oidc/node_modules is missing: run `npm ci --prefix tests/oidc`")
    return node


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signing_key(kid: str) -> dict[str, Any]:
    """A fresh private RSA JWK for RS256 ID tokens."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    jwk.pop("key_ops", None)  # PyJWT says ["sign"]; the provider also verifies with it (logout)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


@dataclass
class Provider:
    issuer: str
    process: subprocess.Popen

    def update_account(self, sub: str, **changes: Any) -> None:
        """Change an account while the provider runs (its groups, or disabled=True)."""
        response = requests.post(f"{self.issuer}/__test__/accounts/{sub}", json=changes, timeout=5)
        assert response.status_code == 204, response.text


@contextmanager
def running_provider(
    folder: Path,
    *,
    clients: list[dict[str, Any]],
    accounts: dict[str, dict[str, Any]],
    key: dict[str, Any],
    port: int | None = None,
) -> Iterator[Provider]:
    """Start provider.mjs with these clients and accounts; stop it on exit."""
    node = require_provider()
    port = port or free_port()
    issuer = f"http://127.0.0.1:{port}"
    config = folder / f"provider-{port}.json"
    config.write_text(
        json.dumps(
            {
                "issuer": issuer,
                "port": port,
                "jwks": {"keys": [key]},
                "clients": clients,
                "accounts": accounts,
            }
        )
    )
    log = folder / f"provider-{port}.log"
    process = subprocess.Popen(
        [node, str(SCRIPT), str(config)],
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        line = ""
        while time.monotonic() < deadline and process.poll() is None:
            ready, _, _ = select.select([process.stdout], [], [], 0.2)
            if ready:
                line = process.stdout.readline()
                break
        if not line.startswith("listening"):
            raise RuntimeError(f"the OIDC provider did not start: {log.read_text()[-2000:]}")
        yield Provider(issuer=issuer, process=process)
    finally:
        processes.stop_child(process)
