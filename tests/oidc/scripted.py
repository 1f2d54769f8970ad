"""A scripted OpenID Connect provider for the refusal tests: a small HTTP server on a free loopback
port that answers discovery, the key set, the token endpoint and userinfo with whatever a test
chose (valid by default), so every malformed answer a broken or hostile provider could give can
be served to the console over real HTTP.

`ScriptedProvider.answer(route, body, status=200, content_type="application/json")` sets what a
route answers next (a body that is not bytes is sent as JSON); `id_token(**claims)` signs an ID
token with the provider's RS256 key (a claim set to DROP is left out; `header=` changes the JWS
header, `key=` signs with another key).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CLIENT_ID = "console"
DROP = object()  # a claim or field to leave out


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str


def _b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def _as_bytes(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


@dataclass
class ScriptedProvider:
    issuer: str
    kid: str = "scripted-key-1"
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    answers: dict[str, Answer] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/auth",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/me",
            "end_session_endpoint": f"{self.issuer}/session/end",
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def public_jwk(self, kid: str | None = None) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**jwk, "kid": kid or self.kid, "alg": "RS256", "use": "sig"}

    def reset(self) -> None:
        """Every route answers validly again (the token endpoint: nothing until a test says)."""
        self.answers = {
            "/.well-known/openid-configuration": Answer(
                200, _as_bytes(self.discovery()), "application/json"
            ),
            "/jwks": Answer(200, _as_bytes({"keys": [self.public_jwk()]}), "application/json"),
        }

    def answer(
        self, route: str, body: Any, *, status: int = 200, content_type: str = "application/json"
    ) -> None:
        self.answers[route] = Answer(status, _as_bytes(body), content_type)

    def claims(self, nonce: str, /, **claims: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "scripted-ana",
            "nonce": nonce,
            "iat": now,
            "exp": now + 300,
            "email": "ana@example.com",
            "email_verified": True,
            "name": "Ana Scripted",
            "groups": ["console-support"],
        }
        merged = {**base, **claims}
        return {k: v for k, v in merged.items() if v is not DROP}

    def id_token(
        self,
        nonce: str,
        /,
        *,
        header: dict[str, Any] | None = None,
        key: rsa.RSAPrivateKey | None = None,
        **claims: Any,
    ) -> str:
        """An RS256 JWS of these claims, built by hand (PyJWT would refuse to sign a header
        with, say, a numeric kid, and such tokens are what a hostile provider sends)."""
        headers = {"alg": "RS256", "typ": "JWT", "kid": self.kid, **(header or {})}
        headers = {k: v for k, v in headers.items() if v is not DROP}
        signing_input = f"{_b64(headers)}.{_b64(self.claims(nonce, **claims))}"
        signature = (key or self.key).sign(
            signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"

    def token_answer(self, id_token: Any, **fields: Any) -> dict[str, Any]:
        """A token response carrying this ID token (fields override or, with DROP, remove)."""
        body = {"access_token": "scripted-access-token", "token_type": "Bearer", "expires_in": 300}
        body = {**body, "id_token": id_token, **fields}
        return {k: v for k, v in body.items() if v is not DROP}


class _Handler(BaseHTTPRequestHandler):
    provider: ScriptedProvider

    def _serve(self) -> None:
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.provider.requests.append((self.command, path))
        answer = self.provider.answers.get(path) or Answer(404, b"{}", "application/json")
        self.send_response(answer.status)
        self.send_header("content-type", answer.content_type)
        self.send_header("content-length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def scripted_provider() -> Iterator[ScriptedProvider]:
    """A ScriptedProvider serving on 127.0.0.1 (a free port), stopped on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    provider = ScriptedProvider(issuer=f"http://127.0.0.1:{server.server_address[1]}")
    provider.reset()
    server.RequestHandlerClass = type("Handler", (_Handler,), {"provider": provider})
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
