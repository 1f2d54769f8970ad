"""What single sign-on accepts from the identity provider, checked before anything reads it: the
shapes of its documents (discovery, key set, token response, userinfo), the ID token's claims, and
the one e-mail normalisation every comparison uses.

Pure functions, no database and no network: anchor_site.sso fetches, these decide. A document of
the wrong shape is `ProviderBroken` (the console answers 503: the provider is broken, nothing the
staff member can fix); a token or claim that does not pass is `ClaimRefused` with the status the
sign-in gets (400 for a malformed or unverifiable token, 403 for one the console's rules refuse).
The reason is for the security log; `message` is what the page may show (never the provider's
own text).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import idna

# OpenID Connect Core 1.0 §2: `sub` is at most 255 ASCII characters.
SUBJECT_MAX = 255
# The username of an account made by single sign-on is its address (Django allows 150).
USERNAME_MAX = 150
# RFC 5321 §4.5.3.1: a local part of at most 64 octets; an address of at most 254.
LOCAL_MAX, ADDRESS_MAX = 64, 254
# The local part as RFC 5322's dot-atom (no quoted strings, no comments).
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


UNVERIFIED = "This sign-in could not be verified. Start again from the login page."


class ProviderBroken(Exception):
    """A document from the provider is not what OpenID Connect says it must be (503)."""


class ClaimRefused(Exception):
    """A token or claim the console does not accept: `status` 400 or 403, `message` for the page,
    the exception's text (the reason) for the log."""

    def __init__(self, reason: str, *, status: int = 400, message: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.message = message or UNVERIFIED


def normalise(text: str) -> str:
    """The one normalisation every e-mail comparison uses: NFKC, then casefold."""
    return unicodedata.normalize("NFKC", text).casefold()


def canonical_email(address: Any) -> str | None:
    """The address as the console stores and compares it, or None when it may not be used: not a
    string, not local@domain, a local part that is not plain ASCII, a domain that IDNA 2008 does
    not encode (look-alike and compatibility characters are refused, not mapped), or too long.
    The domain is IDNA-encoded (exämple.com → xn--exmple-cua.com), then the whole normalised."""
    if not isinstance(address, str) or address.count("@") != 1:
        return None
    local, domain = address.split("@")
    if not local.isascii() or len(local) > LOCAL_MAX or not _LOCAL_PART.fullmatch(local):
        return None
    try:
        # Lower-cased first: IDNA 2008 itself takes only lower-case labels.
        encoded = idna.encode(domain.lower() if domain.isascii() else domain).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    if not encoded.isascii() or encoded.endswith(".") or "." not in encoded:
        return None
    canonical = normalise(f"{local}@{encoded}")
    return canonical if len(canonical) <= ADDRESS_MAX else None


def loose_email(address: Any) -> str | None:
    """The address normalised without any check (NFKC, casefold): only to find the account a
    refused address looks like, so that account's audit trail shows the attempt."""
    return normalise(address) if isinstance(address, str) else None


def canonical_domain(domain: str) -> str:
    """An allow-listed domain in the form canonical_email gives its addresses' domains."""
    address = canonical_email(f"x@{domain.strip()}")
    return address.split("@", 1)[1] if address else normalise(domain.strip())


# --- Documents ------------------------------------------------------------------------------------

_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")


def _url(value: Any, *, secure: bool) -> bool:
    if not isinstance(value, str) or len(value) > 2000:
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError on a port that is not a number)
    except ValueError:
        return False
    schemes = {"https"} if secure else {"https", "http"}
    return parts.scheme in schemes and bool(parts.hostname) and value.isascii()


def check_discovery(document: Any, issuer: str) -> dict[str, Any]:
    """The discovery document, if it is a JSON object naming `issuer` with usable endpoints
    (https:// ones when the issuer is https://). ProviderBroken otherwise."""
    if not isinstance(document, dict):
        raise ProviderBroken(f"the discovery document is a JSON {type(document).__name__}")
    if not isinstance(document.get("issuer"), str):
        raise ProviderBroken("the discovery document names no issuer")
    if document["issuer"].rstrip("/") != issuer.rstrip("/"):
        # OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was asked for.
        raise ProviderBroken(f"the discovery document names another issuer: {document['issuer']!r}")
    secure = issuer.startswith("https://")
    bad = [name for name in _ENDPOINTS if not _url(document.get(name), secure=secure)]
    if "end_session_endpoint" in document and not _url(
        document["end_session_endpoint"], secure=secure
    ):
        bad.append("end_session_endpoint")
    if bad:
        raise ProviderBroken(f"the discovery document has no usable {', '.join(bad)}")
    return document


def check_token_response(document: Any) -> tuple[str, str]:
    """(access_token, id_token) from the token endpoint's answer (RFC 6749 §5.1, OpenID Connect
    Core §3.1.3.3), or ProviderBroken."""
    if not isinstance(document, dict):
        raise ProviderBroken(f"the token response is a JSON {type(document).__name__}")
    token_type = document.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise ProviderBroken(f"the token response's token_type is {token_type!r}, not Bearer")
    tokens = [document.get("access_token"), document.get("id_token")]
    for name, value in zip(("access_token", "id_token"), tokens, strict=True):
        if not isinstance(value, str) or not value or not value.isascii() or len(value) > 16384:
            raise ProviderBroken(f"the token response has no usable {name}")
    return tokens[0], tokens[1]


def check_key_set(document: Any) -> list[dict[str, Any]]:
    """The key set's signing keys that can be used: objects with a string `kty` and `kid`, no
    `use` other than "sig". Keys without a key id are left out (a token is matched by its kid);
    a set with no usable key at all, or that is not {"keys": [...]}, is ProviderBroken."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ProviderBroken("the key set is not a JSON object with a list of keys")
    keys = [
        key
        for key in document["keys"]
        if isinstance(key, dict)
        and isinstance(key.get("kty"), str)
        and isinstance(key.get("kid"), str)
        and key["kid"]
        and key.get("use", "sig") == "sig"
        and isinstance(key.get("alg", ""), str)
    ]
    if not keys:
        raise ProviderBroken("the key set holds no signing key with a key id")
    return keys


def check_userinfo(document: Any, subject: str) -> dict[str, Any]:
    """The userinfo answer, if it is a JSON object about `subject` (OpenID Connect Core §5.3.2)."""
    if not isinstance(document, dict):
        raise ProviderBroken(f"the userinfo answer is a JSON {type(document).__name__}")
    if document.get("sub") != subject:
        raise ClaimRefused("userinfo answered for another subject than the ID token")
    return document


# --- The ID token's claims ------------------------------------------------------------------------


def _number(value: Any) -> bool:
    """A time claim: a JSON number that a double holds exactly (|n| <= 2**53), not a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return (
        abs(value) <= 2**53
        if isinstance(value, int)
        else math.isfinite(value) and abs(value) <= 2**53
    )


def check_id_token_claims(
    payload: dict[str, Any], *, issuer: str, client_id: str, nonce: Any
) -> str:
    """The checks PyJWT leaves to its caller (OpenID Connect Core §3.1.3.7): issuer, audience,
    azp whenever present, nonce, numeric times, a subject. Returns the subject."""
    if payload.get("iss") != issuer:
        raise ClaimRefused(f"ID token from issuer {payload.get('iss')!r}, not {issuer}")
    audience = payload.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise ClaimRefused(f"ID token with an audience claim of the wrong shape: {audience!r}")
    if client_id not in audiences:
        raise ClaimRefused(f"ID token for audience {audience!r}, not this console")
    if "azp" in payload and payload["azp"] != client_id:
        raise ClaimRefused(f"ID token authorized for {payload['azp']!r}, not this console")
    if len(audiences) > 1 and "azp" not in payload:
        raise ClaimRefused("ID token for several audiences without an azp claim")
    if not isinstance(nonce, str) or payload.get("nonce") != nonce:
        raise ClaimRefused("JWT Nonce verification failed.")
    for name in ("exp", "iat", "nbf"):
        if (name in payload or name != "nbf") and not _number(payload.get(name)):
            raise ClaimRefused(f"ID token whose {name} is not a number")
    subject = payload.get("sub")
    if not isinstance(subject, str) or not 0 < len(subject) <= SUBJECT_MAX:
        raise ClaimRefused("ID token without a usable subject")
    if not subject.isascii() or not subject.isprintable():
        raise ClaimRefused("ID token whose subject is not printable ASCII")
    return subject


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in: what the console keeps of the claims, checked."""

    subject: str
    email: str  # canonical_email of the claim
    name: str
    groups: list[str]


def check_identity(
    claims: dict[str, Any],
    *,
    subject: str,
    groups_claim: str,
    allowed_domains: list[str],
    provider: str,
) -> Identity:
    """The claims a sign-in needs, in the shapes it needs: an e-mail string (else 400), verified
    by the provider with the JSON value true, plain ASCII once its domain is IDNA-encoded, in an
    allowed domain (else 403), and groups as a string or a list of strings (else 400)."""
    email = claims.get("email")
    if not isinstance(email, str) or not email:
        raise ClaimRefused(
            f"the e-mail claim is {type(email).__name__}, not a string",
            message=f"{provider} did not give an e-mail address.",
        )
    shown = email if email.isprintable() and len(email) <= ADDRESS_MAX else "given"
    if claims.get("email_verified") is not True:
        raise ClaimRefused(
            f"email_verified is {claims.get('email_verified')!r}, not true, for {email!r}",
            status=403,
            message=f"The e-mail address {shown} is not verified by {provider}.",
        )
    canonical = canonical_email(email)
    if canonical is None:
        raise ClaimRefused(
            f"the e-mail address {email!r} is not plain ASCII after IDNA-encoding its domain",
            status=403,
            message=(
                f"The e-mail address {shown} cannot be used to sign in: use an address of plain "
                "letters, digits and punctuation."
            ),
        )
    domain = canonical.rsplit("@", 1)[1]
    allowed = [canonical_domain(d) for d in allowed_domains]
    if domain not in allowed:
        raise ClaimRefused(
            f"e-mail domain {domain} is not allowed",
            status=403,
            message=(
                f"Accounts of {domain} may not sign in to this console "
                f"(allowed: {', '.join(allowed)})."
            ),
        )
    if len(canonical) > USERNAME_MAX:
        raise ClaimRefused(
            f"the e-mail address has {len(canonical)} characters, more than {USERNAME_MAX}",
            status=403,
            message="This e-mail address is too long to be a console username.",
        )
    value = claims.get(groups_claim, [])
    groups = [value] if isinstance(value, str) else value
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise ClaimRefused(f"the {groups_claim!r} claim is not a list of strings")
    name = claims.get("name")
    name = name if isinstance(name, str) and name.isprintable() else ""
    return Identity(subject=subject, email=canonical, name=name[:150], groups=groups)


def error_code(value: Any) -> str:
    """An OAuth `error` parameter fit for the log: the code itself when it looks like one."""
    return value if isinstance(value, str) and _ERROR_CODE.fullmatch(value) else "unrecognised"
