"""Client metadata validation (RFC 7591 2, 3.2.2; OIDC Registration 2): one table of inputs."""

from __future__ import annotations

from typing import Any

import pytest

from channels.kinds import ChannelKind
from channels.registration import InvalidClientMetadata
from channels.registration import validate_metadata

EC_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
}
PORTAL: dict[str, Any] = dict(
    name="人社门户",
    kind="portal",
    grant_types=["authorization_code", "refresh_token"],
    auth_method="client_secret_basic",
    redirect_uris=["https://rp.example/cb"],
    scopes=["openid profile essc.card"],
)
MERCHANT: dict[str, Any] = dict(
    name="扫码终端",
    kind="merchant",
    grant_types=["client_credentials"],
    auth_method="private_key_jwt",
    redirect_uris=[],
    scopes=["essc.qr.verify"],
    jwks={"keys": [EC_KEY]},
)


def test_portal_defaults() -> None:
    m = validate_metadata(**PORTAL)
    assert m.kind is ChannelKind.PORTAL
    assert m.grant_types == ("authorization_code", "refresh_token")
    assert m.scopes == ("openid", "profile", "essc.card")
    assert m.subject_type == "pairwise" and m.sector_identifier == "rp.example"
    assert m.id_token_signed_response_alg == "ES256" and m.rotate_refresh_tokens


def test_merchant_with_private_key_jwt() -> None:
    m = validate_metadata(**MERCHANT)
    assert m.token_endpoint_auth_method == "private_key_jwt"
    assert m.redirect_uris == () and m.jwks == {"keys": [EC_KEY]}


@pytest.mark.parametrize(
    ("kind", "scope", "held"),
    [
        ("merchant", "essc.qr.verify", True),
        ("bank", "essc.ecard", True),
        ("unionpay", "essc.ecard", True),
        ("wechat", "essc.ecard", False),
        ("alipay", "essc.ecard", False),
        ("app", "essc.ecard", False),
        ("portal", "openid", False),
    ],
)
def test_the_kinds_that_move_money_default_to_fapi2(kind: str, scope: str, held: bool) -> None:
    """Issue 13 item 4 at the one metadata seam every registration path goes through; an
    explicit choice wins either way."""
    base = {**MERCHANT, "kind": kind, "scopes": [scope]}
    assert validate_metadata(**base).fapi2_security_profile is held
    assert validate_metadata(**base, fapi2=False).fapi2_security_profile is False
    assert validate_metadata(**base, fapi2=True).fapi2_security_profile is True


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"name": "  门户  "}, lambda m: m.name == "门户"),
        (
            {"grant_types": ["authorization_code", "authorization_code"]},
            lambda m: m.grant_types == ("authorization_code",),
        ),
        (
            {"redirect_uris": ["https://rp.example/cb", "https://rp.example/cb"]},
            lambda m: m.redirect_uris == ("https://rp.example/cb",),
        ),
        ({"scopes": ["openid", "openid profile"]}, lambda m: m.scopes == ("openid", "profile")),
        (
            {"redirect_uris": ["http://127.0.0.1:8080/cb"]},
            lambda m: m.sector_identifier == "127.0.0.1",
        ),
        ({"redirect_uris": ["http://localhost/cb"]}, lambda m: True),
        ({"redirect_uris": ["http://[::1]:9000/cb"]}, lambda m: True),
        (
            {
                "redirect_uris": ["https://a.example/cb", "https://b.example/cb"],
                "sector_identifier": "example",
            },
            lambda m: m.sector_identifier == "example",
        ),
        (
            {
                "redirect_uris": ["https://a.example/cb", "https://b.example/cb"],
                "subject_type": "public",
            },
            lambda m: m.sector_identifier == "",
        ),
        ({"id_token_alg": "EdDSA"}, lambda m: m.id_token_signed_response_alg == "EdDSA"),
        (
            {"jwks_uri": "https://rp.example/jwks.json", "auth_method": "private_key_jwt"},
            lambda m: m.jwks_uri == "https://rp.example/jwks.json",
        ),
        ({"rotate_refresh_tokens": False}, lambda m: not m.rotate_refresh_tokens),
        ({"kind": "bank", "scopes": ["openid essc.payment"]}, lambda m: "essc.payment" in m.scopes),
        ({"scopes": ["openid essc.idnumber"]}, lambda m: "essc.idnumber" in m.scopes),
    ],
)
def test_accepted(changes: dict[str, Any], check: Any) -> None:
    assert check(validate_metadata(**{**PORTAL, **changes}))


BAD_REDIRECT = "invalid_redirect_uri"
BAD_META = "invalid_client_metadata"


@pytest.mark.parametrize(
    ("changes", "error", "description"),
    [
        ({"name": ""}, BAD_META, "client_name is required (<=128)"),
        ({"name": "   "}, BAD_META, "client_name is required (<=128)"),
        ({"name": "x" * 129}, BAD_META, "client_name is required (<=128)"),
        ({"kind": "government"}, BAD_META, "unknown channel kind"),
        ({"grant_types": []}, BAD_META, "unsupported grant_types"),
        ({"grant_types": ["implicit"]}, BAD_META, "unsupported grant_types"),
        ({"grant_types": ["password"]}, BAD_META, "unsupported grant_types"),
        ({"grant_types": ["refresh_token"]}, BAD_META, "refresh_token needs authorization_code"),
        ({"auth_method": "none"}, BAD_META, "unsupported token_endpoint_auth_method"),
        ({"auth_method": "client_secret_jwt"}, BAD_META, "unsupported token_endpoint_auth_method"),
        ({"auth_method": "private_key_jwt"}, BAD_META, "private_key_jwt needs jwks or jwks_uri"),
        ({"jwks": {}}, BAD_META, "jwks must hold 1 to 10 keys"),
        ({"jwks": {"keys": []}}, BAD_META, "jwks must hold 1 to 10 keys"),
        ({"jwks": {"keys": [EC_KEY] * 11}}, BAD_META, "jwks must hold 1 to 10 keys"),
        ({"jwks": {"keys": "nope"}}, BAD_META, "jwks must hold 1 to 10 keys"),
        (
            {"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}},
            BAD_META,
            "jwks has an unsupported key",
        ),
        ({"jwks": {"keys": ["EC"]}}, BAD_META, "jwks has an unsupported key"),
        (
            {"jwks": {"keys": [{**EC_KEY, "d": "private"}]}},
            BAD_META,
            "jwks must hold public keys only",
        ),
        (
            {"jwks": {"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB", "p": "x"}]}},
            BAD_META,
            "jwks must hold public keys only",
        ),
        ({"jwks_uri": "http://rp.example/jwks"}, BAD_META, "jwks_uri must be an https URI"),
        ({"redirect_uris": []}, BAD_REDIRECT, "authorization_code needs a redirect_uri"),
        (
            {"redirect_uris": [f"https://rp.example/{i}" for i in range(21)]},
            BAD_REDIRECT,
            "too many redirect_uris",
        ),
        (
            {"redirect_uris": ["http://rp.example/cb"]},
            BAD_REDIRECT,
            "redirect_uri must be https (http only on loopback)",
        ),
        (
            {"redirect_uris": ["http://127.0.0.1/cb"], "allow_http_loopback": False},
            BAD_REDIRECT,
            "redirect_uri must be https (http only on loopback)",
        ),
        (
            {"redirect_uris": ["http://127.0.0.1.evil.example/cb"]},
            BAD_REDIRECT,
            "redirect_uri must be https (http only on loopback)",
        ),
        (
            {"redirect_uris": ["com.example.app:/cb"]},
            BAD_REDIRECT,
            "redirect_uri must be https (http only on loopback)",
        ),
        (
            {"redirect_uris": ["javascript:alert(1)"]},
            BAD_REDIRECT,
            "redirect_uri must be https (http only on loopback)",
        ),
        (
            {"redirect_uris": ["https:///cb"]},
            BAD_REDIRECT,
            "redirect_uri must be https (http only on loopback)",
        ),
        (
            {"redirect_uris": ["https://rp.example/cb#frag"]},
            BAD_REDIRECT,
            "redirect_uri must not have a fragment",
        ),
        (
            {"redirect_uris": ["https://rp.example/cb#"]},
            BAD_REDIRECT,
            "redirect_uri must not have a fragment",
        ),
        (
            {"redirect_uris": ["https://user:pw@rp.example/cb"]},
            BAD_REDIRECT,
            "redirect_uri must not have userinfo",
        ),
        (
            {"redirect_uris": ["https://rp.example@evil.example/cb"]},
            BAD_REDIRECT,
            "redirect_uri must not have userinfo",
        ),
        ({"redirect_uris": ["https://rp.example/c b"]}, BAD_REDIRECT, "redirect_uri is malformed"),
        ({"redirect_uris": ['https://rp.example/"x']}, BAD_REDIRECT, "redirect_uri is malformed"),
        ({"redirect_uris": ["https://rp.example/回调"]}, BAD_REDIRECT, "redirect_uri is malformed"),
        (
            {"redirect_uris": ["https://rp.example/" + "a" * 512]},
            BAD_REDIRECT,
            "redirect_uri is malformed",
        ),
        ({"scopes": ["openid essc.payment"]}, BAD_META, "scope not allowed for this kind"),
        ({"scopes": ["openid offline_access"]}, BAD_META, "scope not allowed for this kind"),
        ({"scopes": ["profile"]}, BAD_META, "authorization_code clients need openid"),
        ({"subject_type": "anonymous"}, BAD_META, "subject_type must be pairwise or public"),
        ({"id_token_alg": "HS256"}, BAD_META, "unsupported id_token_signed_response_alg"),
        ({"id_token_alg": "none"}, BAD_META, "unsupported id_token_signed_response_alg"),
        (
            {"redirect_uris": ["https://a.example/cb", "https://b.example/cb"]},
            BAD_META,
            "redirect_uris on several hosts need a sector_identifier",
        ),
    ],
)
def test_refused(changes: dict[str, Any], error: str, description: str) -> None:
    with pytest.raises(InvalidClientMetadata) as caught:
        validate_metadata(**{**PORTAL, **changes})
    assert (caught.value.error, caught.value.description) == (error, description)


@pytest.mark.parametrize(
    ("changes", "description"),
    [
        ({"scopes": ["openid"]}, "scope not allowed for this kind"),
        ({"scopes": ["essc.card"]}, "scope not allowed for this kind"),
        (
            {"grant_types": ["client_credentials", "refresh_token"]},
            "refresh_token needs authorization_code",
        ),
    ],
)
def test_merchants_get_service_scopes_only(changes: dict[str, Any], description: str) -> None:
    with pytest.raises(InvalidClientMetadata) as caught:
        validate_metadata(**{**MERCHANT, **changes})
    assert caught.value.description == description


def test_descriptions_never_echo_the_input() -> None:
    hostile = "https://rp.example/<script>"
    with pytest.raises(InvalidClientMetadata) as caught:
        validate_metadata(**{**PORTAL, "redirect_uris": [hostile]})
    assert hostile not in str(caught.value) and "<script>" not in caught.value.description
