"""The single sign-on checks on their own (anchor_site.sso_claims): the one e-mail normalisation,
and every document and claim check fed hostile JSON (hypothesis) — each either accepts or raises
its own refusal, never anything else (which the console would answer with a 500)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchor_site.sso_claims import (
    ClaimRefused,
    ProviderBroken,
    canonical_email,
    check_discovery,
    check_id_token_claims,
    check_identity,
    check_key_set,
    check_token_response,
    check_userinfo,
    normalise,
)

ISSUER = "https://sso.example.com/realms/acme"
json_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["false", "true", "ana@example.com", "\u212aelvin@example.com", ISSUER]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=10,
)
claim_names = st.sampled_from(
    ["iss", "aud", "azp", "sub", "nonce", "exp", "iat", "nbf", "email", "email_verified", "groups"]
)
claims = st.dictionaries(claim_names | st.text(max_size=6), json_value, max_size=12)
addresses = st.one_of(
    st.text(max_size=40),
    st.builds(lambda a, b: f"{a}@{b}", st.text(max_size=20), st.text(max_size=20)),
    st.emails(),
)


@pytest.mark.parametrize(
    ("address", "canonical"),
    [
        ("Ana@Example.COM", "ana@example.com"),
        ("ana@exämple.com", "ana@xn--exmple-cua.com"),
        ("ａna@example.com", None),  # noqa: RUF001 (the fullwidth a is the point)
        ("\u212aelvin@example.com", None),  # Kelvin sign: lower() makes it "k"
        ("ana@ｅxample.com", None),  # noqa: RUF001 (fullwidth e in the domain)
        ("ana@example.com.", None),
        ("ana@@example.com", None),
        ('"ana"@example.com', None),
        ("ana@localhost", None),
        ("a" * 65 + "@example.com", None),
        (["ana@example.com"], None),
        (None, None),
    ],
)
def test_the_one_normalisation_accepts_plain_addresses_only(address: Any, canonical) -> None:
    assert canonical_email(address) == canonical


@settings(max_examples=200)
@given(addresses)
def test_a_canonical_address_is_ascii_lower_case_and_stable(address: str) -> None:
    canonical = canonical_email(address)
    if canonical is None:
        return
    assert canonical.isascii() and canonical == normalise(canonical)
    assert canonical_email(canonical) == canonical
    if address.isascii():
        assert canonical == address.lower()  # only case folds; nothing else is mapped


@settings(max_examples=300)
@given(json_value)
def test_every_document_check_accepts_or_refuses(document: Any) -> None:
    for check in (
        lambda: check_discovery(document, ISSUER),
        lambda: check_key_set(document),
        lambda: check_token_response(document),
        lambda: check_userinfo(document, "sub-1"),
    ):
        with contextlib.suppress(ProviderBroken, ClaimRefused):
            check()


@settings(max_examples=250)
@given(claims, json_value)
def test_every_claim_check_accepts_or_refuses(payload: dict[str, Any], nonce: Any) -> None:
    try:
        subject = check_id_token_claims(payload, issuer=ISSUER, client_id="console", nonce=nonce)
    except ClaimRefused as refusal:
        assert refusal.status == 400
        return
    assert payload["iss"] == ISSUER and payload["nonce"] == nonce and subject == payload["sub"]
    assert "azp" not in payload or payload["azp"] == "console"


@settings(max_examples=250)
@given(claims)
def test_the_identity_check_accepts_only_verified_plain_allowed_addresses(claims) -> None:
    try:
        identity = check_identity(
            claims,
            subject="sub-1",
            groups_claim="groups",
            allowed_domains=["example.com"],
            provider="IdP",
        )
    except ClaimRefused as refusal:
        assert refusal.status in {400, 403}
        return
    assert claims["email_verified"] is True
    assert identity.email == canonical_email(claims["email"])
    assert identity.email.endswith("@example.com")
    assert all(isinstance(group, str) for group in identity.groups)
