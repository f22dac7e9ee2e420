"""RFC 8705 behind a TLS proxy, with real certificates (pyca/cryptography): mutual-TLS client
authentication (2.1 PKI by subject DN, 2.2 self-signed by registered certificate), tokens bound
to the certificate (3.1 ``cnf.x5t#S256``), the binding enforced at a resource (3, 4) and
reported by introspection (3.2), the metadata (3.3, 3.4), and the proxy's header trusted only
from the proxy's own address. Runs on every store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from channels.registration import InvalidClientMetadata
from channels.registration import SecurityOptions
from idp.app import create_app
from idp.oauth import rfc8705_mtls
from idp.provider import Provider
from tests.conftest import Registered
from tests.oauth.mtls_certs import Cert
from tests.oauth.mtls_certs import authority
from tests.oauth.mtls_certs import issued
from tests.oauth.mtls_certs import name
from tests.oauth.mtls_certs import self_signed
from tests.support import FakeClock
from tests.support import basic
from tests.support import obtain_code
from tests.support import register

HEADER = "Client-Cert"
DN = "CN=bank-server,O=Demo Bank,C=CN"
CC = {"grant_type": "client_credentials", "scope": "essc.qr.verify"}
MERCHANT: dict[str, Any] = dict(
    kind="merchant", grant_types=("client_credentials",), redirect_uris=(), scope="essc.qr.verify"
)


@pytest.fixture
def mtls(provider: Provider, clock: FakeClock) -> Iterator[tuple[Provider, Any]]:
    s = replace(provider.settings, tls_client_cert_header=HEADER)
    p = Provider(s, clock=clock, database=provider.db)
    yield p, create_app(s, provider=p).test_client()


def _cert(cert: Cert | None, pem: bool = False) -> dict[str, str]:
    if cert is None:
        return {}
    return {HEADER: cert.escaped_pem() if pem else cert.rfc9440()}


def _token(web: Any, client_id: str, cert: Cert | None, **environ: str) -> Any:
    return web.post(
        "/token",
        data={**CC, "client_id": client_id},
        headers=_cert(cert),
        environ_base=environ,
    )


@pytest.mark.parametrize("pem", [False, True])
def test_self_signed_client_gets_a_bound_token(mtls: tuple[Provider, Any], pem: bool) -> None:
    p, web = mtls
    cert = self_signed()
    client = register(
        p, auth_method="self_signed_tls_client_auth", jwks={"keys": [cert.jwk()]}, **MERCHANT
    )
    response = web.post(
        "/token", data={**CC, "client_id": client.client_id}, headers=_cert(cert, pem)
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "Bearer"  # RFC 8705 3: still a Bearer token
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"x5t#S256": cert.x5t}
    introspected = web.post(
        "/introspect",
        data={"token": body["access_token"], "client_id": client.client_id},
        headers=_cert(cert),
    ).get_json()
    assert introspected["active"] is True and introspected["cnf"] == {"x5t#S256": cert.x5t}


def test_self_signed_client_refused_with_another_or_no_certificate(
    mtls: tuple[Provider, Any],
) -> None:
    p, web = mtls
    cert = self_signed()
    client = register(
        p, auth_method="self_signed_tls_client_auth", jwks={"keys": [cert.jwk()]}, **MERCHANT
    )
    for presented in (self_signed("bank-app"), None):
        refused = _token(web, client.client_id, presented)
        assert refused.status_code == 401, refused.get_json()
        assert refused.get_json()["error"] == "invalid_client"


def test_pki_client_is_known_by_its_subject(mtls: tuple[Provider, Any]) -> None:
    p, web = mtls
    ca = authority()
    client = register(
        p,
        auth_method="tls_client_auth",
        security=SecurityOptions(tls_client_auth_subject_dn=DN),
        **MERCHANT,
    )
    good = issued(ca, name("bank-server"))
    ok = _token(web, client.client_id, good)
    assert ok.status_code == 200, ok.get_json()
    claims = jwt.decode(ok.get_json()["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"x5t#S256": good.x5t}
    for subject in (name("bank-server", org="Other Bank"), name("bank-server-2")):
        refused = _token(web, client.client_id, issued(ca, subject))
        assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"


def test_a_header_from_an_untrusted_address_is_ignored(mtls: tuple[Provider, Any]) -> None:
    p, web = mtls
    cert = self_signed()
    client = register(
        p, auth_method="self_signed_tls_client_auth", jwks={"keys": [cert.jwk()]}, **MERCHANT
    )
    refused = _token(web, client.client_id, cert, REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    assert _token(web, client.client_id, cert, REMOTE_ADDR="127.0.0.1").status_code == 200


def test_without_the_setting_the_header_is_never_read(provider: Provider, web: Any) -> None:
    cert = self_signed()
    client = register(
        provider, auth_method="self_signed_tls_client_auth", jwks={"keys": [cert.jwk()]}, **MERCHANT
    )
    assert _token(web, client.client_id, cert).status_code == 401
    metadata = web.get("/.well-known/openid-configuration").get_json()
    assert metadata["tls_client_certificate_bound_access_tokens"] is False
    assert "tls_client_auth" not in metadata["token_endpoint_auth_methods_supported"]


def test_discovery_with_the_proxy(mtls: tuple[Provider, Any]) -> None:
    _, web = mtls
    metadata = web.get("/.well-known/openid-configuration").get_json()
    assert metadata["tls_client_certificate_bound_access_tokens"] is True
    for method in ("tls_client_auth", "self_signed_tls_client_auth"):
        assert method in metadata["token_endpoint_auth_methods_supported"]
        assert method in metadata["introspection_endpoint_auth_methods_supported"]


def _code_flow_token(web: Any, client: Registered, cert: Cert | None) -> dict[str, Any]:
    code, verifier = obtain_code(web, client)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "code_verifier": verifier,
    }
    headers = {**basic(client.client_id, client.client_secret), **_cert(cert)}
    response = web.post("/token", data=data, headers=headers)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def test_userinfo_takes_a_bound_token_only_with_its_certificate(
    mtls: tuple[Provider, Any], cardholder: dict[str, str]
) -> None:
    """A secret-authenticated portal over mutual TLS gets bound tokens too (RFC 8705 3)."""
    p, web = mtls
    portal = register(p, kind="portal")
    cert = self_signed()
    token = _code_flow_token(web, portal, cert)["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert web.get("/userinfo", headers={**bearer, **_cert(cert)}).status_code == 200
    for headers, environ in (
        ({}, {}),
        (_cert(self_signed()), {}),
        (_cert(cert), {"REMOTE_ADDR": "198.51.100.7"}),  # the header, not from the proxy
        ({HEADER: ":not base64!:"}, {}),
    ):
        refused = web.get("/userinfo", headers={**bearer, **headers}, environ_base=environ)
        assert refused.status_code == 401, refused.get_json()
        assert refused.get_json()["error"] == "invalid_token"
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unbound_token_needs_no_certificate(
    mtls: tuple[Provider, Any], cardholder: dict[str, str]
) -> None:
    p, web = mtls
    portal = register(p, kind="portal")
    token = _code_flow_token(web, portal, None)["access_token"]
    assert "cnf" not in jwt.decode(token, options={"verify_signature": False})
    assert web.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_certificate_bound_client_must_use_mutual_tls(mtls: tuple[Provider, Any]) -> None:
    """RFC 8705 3.4 ``tls_client_certificate_bound_access_tokens``."""
    p, web = mtls
    client = register(
        p, security=SecurityOptions(tls_client_certificate_bound_access_tokens=True), **MERCHANT
    )
    auth = basic(client.client_id, client.client_secret)
    refused = web.post("/token", data=CC, headers=auth)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_request"
    ok = web.post("/token", data=CC, headers={**auth, **_cert(self_signed())})
    assert ok.status_code == 200, ok.get_json()


@pytest.mark.parametrize(
    ("auth_method", "security", "jwks"),
    [
        ("tls_client_auth", SecurityOptions(), None),
        ("tls_client_auth", SecurityOptions(tls_client_auth_subject_dn="not a dn"), None),
        ("client_secret_basic", SecurityOptions(tls_client_auth_subject_dn=DN), None),
        ("self_signed_tls_client_auth", SecurityOptions(), None),
        ("self_signed_tls_client_auth", SecurityOptions(), "no x5c"),
        ("self_signed_tls_client_auth", SecurityOptions(), "bad x5c"),
    ],
)
def test_registration_refuses(
    provider: Provider, auth_method: str, security: SecurityOptions, jwks: str | None
) -> None:
    jwk = self_signed().jwk()
    keys = {
        None: None,
        "no x5c": {"keys": [{k: v for k, v in jwk.items() if k != "x5c"}]},
        "bad x5c": {"keys": [{**jwk, "x5c": ["bm90IGEgY2VydA=="]}]},
    }[jwks]
    with pytest.raises(InvalidClientMetadata):
        register(provider, auth_method=auth_method, security=security, jwks=keys, **MERCHANT)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: f":{b.hex()}:"))
def test_any_forwarded_header_is_a_certificate_or_a_value_error(value: str) -> None:
    with contextlib.suppress(ValueError):
        rfc8705_mtls.thumbprint(value)


def test_proxies_setting_is_checked(provider: Provider) -> None:
    from idp.settings import ConfigurationError

    replace(provider.settings, tls_client_cert_proxies="10.0.0.0/8, ::1").check()
    with pytest.raises(ConfigurationError):
        replace(provider.settings, tls_client_cert_proxies="10.0.0.0/33").check()
