"""DPoP (RFC 9449) through the HTTP endpoints, on every store: a proof at ``/token`` binds the
tokens (5, 6.1), ``/userinfo`` takes a bound token only with a proof by its key (7.1), and every
hostile proof of 4.3 is refused with ``invalid_dpop_proof``."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from idp.errors import InvalidDpopProof
from idp.oauth.rfc9449_dpop import DpopProofs
from idp.provider import Provider
from tests.conftest import Registered
from tests.oauth.dpop_keys import DpopKey
from tests.support import FakeClock
from tests.support import basic
from tests.support import obtain_code

TOKEN = "http://localhost/token"
USERINFO = "http://localhost/userinfo"


def exchange(web: Any, client: Any, code: str, verifier: str, dpop: str | None = None) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "code_verifier": verifier,
    }
    headers = basic(client.client_id, client.client_secret)
    if dpop is not None:
        headers["DPoP"] = dpop
    return web.post("/token", data=data, headers=headers)


def bound_token(web: Any, client: Registered, key: DpopKey, now: int) -> dict[str, Any]:
    code, verifier = obtain_code(web, client)
    proof = key.proof("POST", TOKEN, now)
    response = exchange(web, client, code, verifier, dpop=proof)
    assert response.status_code == 200, response.get_json()
    return dict(response.get_json())


def userinfo(web: Any, token: str, proof: str | None, scheme: str = "DPoP") -> Any:
    headers = {"Authorization": f"{scheme} {token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return web.get("/userinfo", headers=headers)


@pytest.fixture
def key() -> DpopKey:
    return DpopKey.new()


def test_a_proof_binds_the_tokens_and_userinfo_needs_it(
    web: Any, provider: Provider, portal: Registered, cardholder: dict[str, str], key: DpopKey
) -> None:
    now = provider.now()
    body = bound_token(web, portal, key, now)
    assert body["token_type"] == "DPoP"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key.jkt}
    token = body["access_token"]
    ok = userinfo(web, token, key.proof("GET", USERINFO, now, access_token=token))
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["sub"] == claims["sub"]
    introspected = web.post(
        "/introspect", data={"token": token}, headers=basic(portal.client_id, portal.client_secret)
    ).get_json()
    assert introspected["cnf"] == {"jkt": key.jkt} and introspected["token_type"] == "DPoP"


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
def test_each_supported_alg_works(
    web: Any, provider: Provider, portal: Registered, cardholder: dict[str, str], alg: str
) -> None:
    body = bound_token(web, portal, DpopKey.new(alg), provider.now())
    assert body["token_type"] == "DPoP"


def _refused(response: Any, error: str = "invalid_token") -> None:
    assert response.status_code == 401, response.get_json()
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("DPoP ") and f'error="{error}"' in challenge
    assert 'algs="ES256 PS256 EdDSA"' in challenge
    assert response.get_json()["error"] == error


def test_a_bound_token_is_refused_without_its_proof(
    web: Any, provider: Provider, portal: Registered, cardholder: dict[str, str], key: DpopKey
) -> None:
    now = provider.now()
    token = bound_token(web, portal, key, now)["access_token"]
    _refused(userinfo(web, token, None, scheme="Bearer"))  # as a bearer token
    _refused(userinfo(web, token, None), "invalid_dpop_proof")  # DPoP without a proof
    other = DpopKey.new()
    _refused(userinfo(web, token, other.proof("GET", USERINFO, now, access_token=token)))
    wrong_ath = key.proof("GET", USERINFO, now, access_token=token + "x")
    _refused(userinfo(web, token, wrong_ath), "invalid_dpop_proof")
    elsewhere = key.proof("GET", "http://localhost/other", now, access_token=token)
    _refused(userinfo(web, token, elsewhere), "invalid_dpop_proof")
    posted = key.proof("POST", USERINFO, now, access_token=token)
    _refused(userinfo(web, token, posted), "invalid_dpop_proof")
    proof = key.proof("GET", USERINFO, now, access_token=token)
    assert userinfo(web, token, proof).status_code == 200
    _refused(userinfo(web, token, proof), "invalid_dpop_proof")  # replayed


def test_a_bearer_token_is_not_taken_as_dpop(
    web: Any, provider: Provider, portal: Registered, cardholder: dict[str, str], key: DpopKey
) -> None:
    code, verifier = obtain_code(web, portal)
    body = exchange(web, portal, code, verifier).get_json()
    assert body["token_type"] == "Bearer"
    token = body["access_token"]
    proof = key.proof("GET", USERINFO, provider.now(), access_token=token)
    _refused(userinfo(web, token, proof))
    assert userinfo(web, token, None, scheme="Bearer").status_code == 200


def _token_error(response: Any, error: str = "invalid_dpop_proof") -> None:
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"] == error


def test_hostile_proofs_at_the_token_endpoint(
    web: Any, provider: Provider, portal: Registered, cardholder: dict[str, str], key: DpopKey
) -> None:
    now = provider.now()
    code, verifier = obtain_code(web, portal)
    private = key.proof("POST", TOKEN, now, header={"jwk": key.private_jwk()})
    secret = jwt.encode(
        {"jti": "j", "htm": "POST", "htu": TOKEN, "iat": now},
        "s" * 32,
        algorithm="HS256",
        headers={"typ": "dpop+jwt", "jwk": key.public_jwk()},
    )
    hostile = [
        key.proof("POST", TOKEN, now - 61),  # too old
        key.proof("POST", TOKEN, now + 11),  # from the future beyond the skew
        key.proof("GET", TOKEN, now),
        key.proof("POST", "http://localhost/par", now),
        key.proof("POST", TOKEN, now, header={"typ": "JWT"}),
        private,
        secret,
        key.proof("POST", TOKEN, now) + "A",  # another signature
        "not a jwt",
        f"{key.proof('POST', TOKEN, now)}, {key.proof('POST', TOKEN, now)}",  # two headers
    ]
    for proof in hostile:
        _token_error(exchange(web, portal, code, verifier, dpop=proof))
    # The code was never consumed by a refused proof: it still works with a good one.
    good = key.proof("POST", TOKEN + "?ignored=1", now)  # 4.3 9: the query does not count
    response = exchange(web, portal, code, verifier, dpop=good)
    assert response.status_code == 200 and response.get_json()["token_type"] == "DPoP"


def test_a_bound_refresh_token_needs_a_proof_by_the_same_key(
    web: Any, provider: Provider, portal: Registered, cardholder: dict[str, str], key: DpopKey
) -> None:
    now = provider.now()
    refresh = bound_token(web, portal, key, now)["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh}
    auth = basic(portal.client_id, portal.client_secret)
    _token_error(web.post("/token", data=form, headers=auth))
    other = DpopKey.new().proof("POST", TOKEN, now)
    _token_error(web.post("/token", data=form, headers={**auth, "DPoP": other}))
    same = key.proof("POST", TOKEN, now)
    response = web.post("/token", data=form, headers={**auth, "DPoP": same})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["token_type"] == "DPoP"


def test_dpop_jkt_binds_the_code(
    web: Any, provider: Provider, portal: Registered, cardholder: dict[str, str], key: DpopKey
) -> None:
    code, verifier = obtain_code(web, portal, dpop_jkt=key.jkt)
    now = provider.now()
    _token_error(exchange(web, portal, code, verifier))
    code, verifier = obtain_code(web, portal, dpop_jkt=key.jkt)
    other = DpopKey.new().proof("POST", TOKEN, now)
    _token_error(exchange(web, portal, code, verifier, dpop=other))
    code, verifier = obtain_code(web, portal, dpop_jkt=key.jkt)
    proof = key.proof("POST", TOKEN, now)
    response = exchange(web, portal, code, verifier, dpop=proof)
    assert response.status_code == 200, response.get_json()


def test_a_dpop_bound_client_must_send_proofs(
    web: Any, provider: Provider, cardholder: dict[str, str], key: DpopKey
) -> None:
    from tests.support import register

    client = register(provider, dpop_bound=True)
    code, verifier = obtain_code(web, client)
    _token_error(exchange(web, client, code, verifier))
    proof = key.proof("POST", TOKEN, provider.now())
    response = exchange(web, client, code, verifier, dpop=proof)
    assert response.status_code == 200 and response.get_json()["token_type"] == "DPoP"


def test_client_credentials_tokens_are_bound_too(
    web: Any, provider: Provider, service: Registered, key: DpopKey
) -> None:
    form = {"grant_type": "client_credentials", "scope": "essc.qr.verify"}
    headers = {**basic(service.client_id, service.client_secret)}
    headers["DPoP"] = key.proof("POST", TOKEN, provider.now())
    body = web.post("/token", data=form, headers=headers).get_json()
    assert body["token_type"] == "DPoP", body


def test_the_nonce_flow(provider: Provider, clock: FakeClock, key: DpopKey) -> None:
    """RFC 9449 8: without the nonce, ``use_dpop_nonce`` and one to use; it then works, in
    its slot and the next, not later."""
    settings = replace(provider.settings, dpop_require_nonce=True)
    p = Provider(settings, clock=clock, database=provider.db)
    from idp.app import create_app

    web = create_app(settings, provider=p).test_client()
    from tests.support import register

    client = register(
        p,
        kind="merchant",
        grant_types=("client_credentials",),
        redirect_uris=(),
        scope="essc.qr.verify",
    )
    form = {"grant_type": "client_credentials"}
    auth = basic(client.client_id, client.client_secret)
    first = web.post(
        "/token", data=form, headers={**auth, "DPoP": key.proof("POST", TOKEN, p.now())}
    )
    _token_error(first, "use_dpop_nonce")
    nonce = first.headers["DPoP-Nonce"]
    proof = key.proof("POST", TOKEN, p.now(), nonce=nonce)
    ok = web.post("/token", data=form, headers={**auth, "DPoP": proof})
    assert ok.status_code == 200, ok.get_json()
    clock.advance(settings.dpop_nonce_seconds * 2)
    late = key.proof("POST", TOKEN, p.now(), nonce=nonce)
    _token_error(web.post("/token", data=form, headers={**auth, "DPoP": late}), "use_dpop_nonce")


class _Set:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def add_once(self, key: str, expires_at: int) -> bool:
        fresh = key not in self.seen
        self.seen.add(key)
        return fresh


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300) | st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()))
def test_malformed_headers_are_invalid_dpop_proof(header: str) -> None:
    """Any header text, lone surrogates included, is refused as ``invalid_dpop_proof``."""
    proofs = DpopProofs(_Set(), max_age=60, leeway=10, clock=lambda: 1_700_000_000)
    with pytest.raises(InvalidDpopProof):
        proofs.check(header, "POST", TOKEN)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.text(max_size=8) | st.integers(), max_size=6))
def test_hostile_headers_and_claims_are_refused(members: dict[str, Any]) -> None:
    key = DpopKey.new()
    segment = base64.urlsafe_b64encode(json.dumps(members).encode()).rstrip(b"=").decode()
    good = key.proof("POST", TOKEN, 1_700_000_000).split(".")
    proofs = DpopProofs(_Set(), max_age=60, leeway=10, clock=lambda: 1_700_000_000)
    for forged in (f"{segment}.{good[1]}.{good[2]}", f"{good[0]}.{segment}.{good[2]}"):
        with pytest.raises(InvalidDpopProof):
            proofs.check(forged, "POST", TOKEN)


def test_a_proof_at_par_binds_the_code(
    web: Any, provider: Provider, portal: Registered, cardholder: dict[str, str], key: DpopKey
) -> None:
    """RFC 9449 10.1: the pushed request's proof binds the code to its key."""
    from tests.oauth.test_par import front
    from tests.support import approve
    from tests.support import authorize_params
    from tests.support import pkce_pair
    from tests.support import query_of
    from tests.support import sign_in

    verifier, challenge = pkce_pair()
    headers = basic(portal.client_id, portal.client_secret)
    headers["DPoP"] = key.proof("POST", "http://localhost/par", provider.now())
    pushed = web.post("/par", data=authorize_params(portal, challenge), headers=headers)
    assert pushed.status_code == 201, pushed.get_json()
    response = sign_in(
        web, front(web, portal, pushed.get_json()["request_uri"]).headers["Location"]
    )
    code = query_of(approve(web, response.headers["Location"]).headers["Location"])["code"]
    _token_error(exchange(web, portal, code, verifier))
