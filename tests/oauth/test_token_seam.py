"""The token request seam: what a grant is handed (``TokenRequest``), what it declares it reads,
and the binding (``cnf``) and extra claims (``act``) token issuing carries into the RFC 9068
access token and into introspection (RFC 7662, RFC 8705 3.2, RFC 9449 6.2, RFC 8693 2.2.1)."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest

from channels.client import Client
from idp.http.backchannel import BackChannel
from idp.oauth.grants import GrantRegistry
from idp.oauth.grants import StatelessGrant
from idp.oauth.grants.authorization_code import AuthorizationCodeGrant
from idp.oauth.grants.client_credentials import ClientCredentialsGrant
from idp.oauth.token_request import TokenRequest
from idp.oauth.tokens import Confirmation
from idp.provider import Provider
from idp.store.token_store import SqlTokenStore
from tests.oauth.dpop_keys import DpopKey
from tests.oauth.mtls_certs import self_signed
from tests.support import basic
from tests.support import obtain_code

CERT_BOUND = {"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}
DPOP_BOUND = {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}
ACTOR = {"act": {"sub": "agent-7", "iss": "https://agent.example"}}


def client_of(provider: Any, registered: Any) -> Client:
    client = provider.clients.get(registered.client_id)
    assert client is not None
    return client


def introspect(web: Any, registered: Any, token: str) -> dict[str, Any]:
    auth = basic(registered.client_id, registered.client_secret)
    response = web.post("/introspect", data={"token": token}, headers=auth)
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def request_of(form: dict[str, str]) -> TokenRequest:
    return TokenRequest("POST", "https://idp.example/token", form, {}, None, "req-1")


# -- binding and extra claims ----------------------------------------------------------------
@pytest.mark.parametrize(("cnf", "token_type"), [(CERT_BOUND, "Bearer"), (DPOP_BOUND, "DPoP")])
def test_binding_and_act_reach_the_access_token_and_introspection(
    provider: Any, web: Any, service: Any, cnf: Confirmation, token_type: str
) -> None:
    issued = provider.token_services.access_tokens.issue(
        client_of(provider, service),
        sub=service.client_id,
        scopes=("essc.qr.verify",),
        ttl=300,
        cnf=cnf,
        extra_claims=ACTOR,
    )
    assert issued.token_type == token_type
    assert jwt.get_unverified_header(issued.token)["typ"] == "at+jwt"
    claims = provider.access_token_verifier.claims(issued.token)  # RFC 9068 checks
    assert claims["cnf"] == cnf and claims["act"] == ACTOR["act"]
    body = introspect(web, service, issued.token)
    assert body["active"] is True and body["token_type"] == token_type
    assert body["cnf"] == cnf and body["act"] == ACTOR["act"]


def test_an_unbound_token_has_neither(provider: Any, web: Any, service: Any) -> None:
    issued = provider.token_services.access_tokens.issue(
        client_of(provider, service), sub=service.client_id, scopes=(), ttl=300
    )
    assert issued.token_type == "Bearer"
    body = introspect(web, service, issued.token)
    assert body["active"] is True and "cnf" not in body and "act" not in body


@pytest.mark.parametrize("name", ["sub", "iss", "exp", "client_id", "gid", "cnf", "scope"])
def test_extra_claims_never_replace_the_tokens_own(provider: Any, service: Any, name: str) -> None:
    with pytest.raises(ValueError, match="own claims"):
        provider.token_services.access_tokens.issue(
            client_of(provider, service),
            sub=service.client_id,
            scopes=(),
            ttl=300,
            extra_claims={name: "x"},
        )


def test_client_credentials_grant_binds_its_token(provider: Any, web: Any, service: Any) -> None:
    grant = ClientCredentialsGrant(provider.token_services)
    body = grant.issue(request_of({}), client_of(provider, service), binding=DPOP_BOUND)
    assert body["token_type"] == "DPoP"
    assert provider.access_token_verifier.claims(body["access_token"])["cnf"] == DPOP_BOUND
    assert introspect(web, service, body["access_token"])["cnf"] == DPOP_BOUND


def test_authorization_code_grant_binds_its_access_token(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    code, verifier = obtain_code(web, portal)
    form = {"code": code, "redirect_uri": portal.redirect_uri, "code_verifier": verifier}
    grant = AuthorizationCodeGrant(provider.token_services)
    with provider.db.transaction() as session:
        store = SqlTokenStore(session, now=provider.now())
        body = grant.issue(request_of(form), client_of(provider, portal), store, binding=CERT_BOUND)
    assert body["token_type"] == "Bearer" and body["refresh_token"]
    claims = provider.access_token_verifier.claims(body["access_token"])
    assert claims["cnf"] == CERT_BOUND and claims["gid"]
    introspected = introspect(web, portal, body["access_token"])
    assert introspected["active"] is True and introspected["cnf"] == CERT_BOUND


# -- what a grant is handed --------------------------------------------------------------------
class Recording(StatelessGrant):
    """A grant that keeps the request it was handed."""

    grant_type = "urn:test:recording"
    parameters = frozenset({"subject_token"})

    def __init__(self, services: Any) -> None:
        super().__init__(services)
        self.seen: list[TokenRequest] = []

    def issue(
        self, request: TokenRequest, client: Client, *, binding: Confirmation | None = None
    ) -> dict[str, Any]:
        self.seen.append(request)
        return {"ok": True}


def call(app: Any, environ: dict[str, Any]) -> tuple[str, bytes]:
    answer: list[str] = []
    body = b"".join(app(environ, lambda status, headers: answer.append(status)))
    return answer[0], body


def test_the_grant_gets_method_url_headers_certificate_and_only_its_parameters(
    provider: Any, service: Any
) -> None:
    settings = replace(provider.settings, tls_client_cert_header="X-SSL-Client-Cert")
    behind_proxy = Provider(settings, clock=provider.clock, database=provider.db)
    recording = Recording(behind_proxy.token_services)
    behind_proxy.__dict__["grants"] = GrantRegistry([recording])  # the cached property
    back = BackChannel(behind_proxy, lambda environ, start: [b""])
    form = urlencode(
        {
            "grant_type": Recording.grant_type,
            "subject_token": "abc",
            "client_id": service.client_id,
            "scope": "read by no grant here",
        }
    ).encode()
    auth = basic(service.client_id, service.client_secret)["Authorization"]
    proof = DpopKey.new().proof("POST", f"{provider.issuer}/token", provider.now())
    certificate = self_signed().escaped_pem()  # a real one: the binding reads it (RFC 8705 3)
    status, _ = call(
        back,
        {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/token",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": str(len(form)),
            "wsgi.input": io.BytesIO(form),
            "HTTP_AUTHORIZATION": auth,
            "HTTP_DPOP": proof,
            "HTTP_X_SSL_CLIENT_CERT": certificate,
            "REMOTE_ADDR": "127.0.0.1",  # the proxy's (ESSC_TLS_CLIENT_CERT_PROXIES)
        },
    )
    assert status.startswith("200"), status
    [seen] = recording.seen
    assert seen.method == "POST" and seen.url == f"{provider.issuer}/token"
    assert seen.form == {"subject_token": "abc"}  # not scope, grant_type or client auth's
    assert seen.header("DPoP") == proof and seen.authorization == auth
    assert set(seen.headers) == {"authorization", "dpop", "x-ssl-client-cert"}
    assert seen.header("Content-Type") is None  # not a header the back channel passes on
    assert seen.client_certificate == certificate


def test_without_the_setting_no_certificate_is_read(provider: Any) -> None:
    back = BackChannel(provider, lambda environ, start: [b""])
    assert provider.settings.tls_client_cert_header == ""
    request = back._request(
        {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/token",
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "CONTENT_LENGTH": "0",
            "wsgi.input": io.BytesIO(b""),
            "HTTP_X_SSL_CLIENT_CERT": "forged",
        },
        frozenset(),
        "req-2",
    )
    assert request.client_certificate is None


def test_the_token_endpoint_reads_what_its_grants_and_client_auth_declare(
    provider: Any,
) -> None:
    assert provider.grants.parameters == {
        "grant_type",
        "code",
        "redirect_uri",
        "code_verifier",
        "refresh_token",
        "scope",
        # RFC 8693 token exchange (idp.oauth.grants.token_exchange, docs/family.md)
        "subject_token",
        "subject_token_type",
        "requested_token_type",
        "principal",
        "actor_token",
        "actor_token_type",
        "resource",
        "audience",
    }


def test_a_parameter_no_grant_reads_is_ignored_even_repeated(web: Any, service: Any) -> None:
    """RFC 6749 3.1: ``token`` is read by introspection, not by /token: ignored there."""
    body = "grant_type=client_credentials&token=a&token=b"
    response = web.post(
        "/token",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=basic(service.client_id, service.client_secret),
    )
    assert response.status_code == 200, response.json


def test_a_declared_parameter_repeated_is_refused(web: Any, service: Any) -> None:
    response = web.post(
        "/token",
        data="grant_type=client_credentials&scope=a&scope=b",
        content_type="application/x-www-form-urlencoded",
        headers=basic(service.client_id, service.client_secret),
    )
    assert response.status_code == 400 and response.json["error"] == "invalid_request"
