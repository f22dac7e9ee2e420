"""RFC 9449 7.1 at the channel APIs: a DPoP-bound client credentials token opens the QR
redemption, payment and e-card APIs only as ``Authorization: DPoP`` with a proof by its key;
as ``Bearer`` it is refused with a ``DPoP`` challenge in RFC 7807 problem JSON."""

from __future__ import annotations

from typing import Any

import pytest

from idp.provider import Provider
from tests.oauth.dpop_keys import DpopKey
from tests.support import basic
from tests.support import register

TOKEN = "http://localhost/token"


def _bound_token(web: Any, provider: Provider, kind: str, scope: str, key: DpopKey) -> str:
    client = register(
        provider,
        kind=kind,
        grant_types=("client_credentials",),
        redirect_uris=(),
        scope=scope,
    )
    headers = {**basic(client.client_id, client.client_secret)}
    headers["DPoP"] = key.proof("POST", TOKEN, provider.now())
    body = web.post("/token", data={"grant_type": "client_credentials"}, headers=headers)
    assert body.get_json()["token_type"] == "DPoP", body.get_json()
    return str(body.get_json()["access_token"])


@pytest.mark.parametrize(
    ("kind", "scope", "path"),
    [
        ("merchant", "essc.qr.redeem", "/api/v1/qr/redemptions"),
        ("merchant", "essc.pay", "/api/v1/payments"),
        ("bank", "essc.ecard", "/api/v1/ecards"),
    ],
)
def test_a_bound_token_needs_its_proof(
    web: Any, provider: Provider, kind: str, scope: str, path: str
) -> None:
    key = DpopKey.new()
    token = _bound_token(web, provider, kind, scope, key)
    json = {"content_type": "application/json", "data": b"{}"}
    as_bearer = web.post(path, headers={"Authorization": f"Bearer {token}"}, data=b"{}")
    assert as_bearer.status_code == 401
    assert as_bearer.content_type == "application/problem+json"
    assert as_bearer.headers["WWW-Authenticate"].startswith('DPoP realm="essc-idp", error=')
    assert as_bearer.get_json()["reason"] == "invalid_token"
    no_proof = web.post(path, headers={"Authorization": f"DPoP {token}"}, data=b"{}")
    assert no_proof.get_json()["reason"] == "invalid_dpop_proof"
    other = DpopKey.new().proof(
        "POST", f"http://localhost{path}", provider.now(), access_token=token
    )
    wrong_key = web.post(path, headers={"Authorization": f"DPoP {token}", "DPoP": other}, **json)
    assert wrong_key.status_code == 401 and wrong_key.get_json()["reason"] == "invalid_token"
    proof = key.proof("POST", f"http://localhost{path}", provider.now(), access_token=token)
    accepted = web.post(path, headers={"Authorization": f"DPoP {token}", "DPoP": proof}, **json)
    # Past authentication: the empty request itself is what is refused now.
    assert accepted.status_code not in (401, 403), accepted.get_json()
