"""The e-card credential verified by an independent SD-JWT implementation (issue 6).

``idp/ecards/sd_jwt_vc.py`` is hand-written; here the IETF reference implementation (``sd-jwt`` on
PyPI, pinned in pyproject.toml, over jwcrypto) verifies what essc-idp issues: the issuer's
signature with the key taken from ``/jwks.json`` by ``kid``, every Disclosure against ``_sd``
(draft-ietf-oauth-selective-disclosure-jwt, "Verification"), and a holder's presentation that
reveals one claim only. Nothing here uses essc-idp's own SD-JWT code to check the result.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS
from jwcrypto.jws import InvalidJWSSignature
from sd_jwt.holder import SDJWTHolder
from sd_jwt.verifier import SDJWTVerifier

from idp.ecards import credential as ecard_credential
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import bearer
from tests.ecard_helpers import issue_body
from tests.support import CARD

DISCLOSED = {
    "name": CARD["name"],
    "id_number": CARD["id_number"],
    "card_number": CARD["card_number"],
    "region_code": CARD["region_code"],
}


def issuer_key(jwks: dict[str, Any]) -> Any:
    """The ``cb_get_issuer_key`` callback: the published key the JWS header names."""

    def get(issuer: str, header: dict[str, Any]) -> JWK:
        [found] = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
        return JWK.from_json(json.dumps(found))

    return get


def header_of(combined: str) -> dict[str, Any]:
    jws = JWS()
    jws.deserialize(combined.split("~", 1)[0])
    header: dict[str, Any] = jws.jose_header
    return header


def test_the_reference_implementation_verifies_an_issued_credential(
    provider: Any, web: Any, cardholder: Any
) -> None:
    channel = add_channel(provider, "wechat")
    response = web.post("/api/v1/ecards", json=issue_body(provider), headers=bearer(web, channel))
    assert response.status_code == 201, response.json
    credential = response.json["credential"]
    jwks = web.get("/jwks.json").json

    verifier = SDJWTVerifier(credential, issuer_key(jwks))
    claims = verifier.get_verified_payload()
    assert {k: claims[k] for k in DISCLOSED} == DISCLOSED
    assert claims["iss"] == provider.issuer and claims["sub"] == response.json["sign_no"]
    assert claims["vct"] == ecard_credential.vct(provider.issuer)
    assert claims["name_masked"] == "张*" and claims["id_number_masked"] == "1101**********002X"
    assert "_sd" not in claims and "_sd_alg" not in claims
    assert header_of(credential)["typ"] == "dc+sd-jwt"  # SD-JWT VC, "JOSE Header"

    # The holder (the channel) reveals only the name: the verifier sees only the name.
    holder = SDJWTHolder(credential)
    holder.create_presentation({"name": True})
    shown = SDJWTVerifier(holder.sd_jwt_presentation, issuer_key(jwks)).get_verified_payload()
    assert shown["name"] == CARD["name"]
    assert not {"id_number", "card_number", "region_code"} & set(shown)


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "PS256", "RS256"])
def test_every_signing_algorithm_verifies(provider: Any, alg: str) -> None:
    subject = ecard_credential.CredentialSubject(
        sign_no="s" * 43,
        jti="jti-0001",
        issued_at=provider.now(),
        level=1,
        client_id="wechat-0000000000000001",
        **DISCLOSED,
    )
    issued = ecard_credential.build(
        subject,
        issuer=provider.issuer,
        sign=lambda claims, typ: provider.keyring.sign(claims, alg=alg, typ=typ),
        keyed_hash=provider.keyring.keyed_hash,
    )
    claims = SDJWTVerifier(issued.combined, issuer_key(provider.keyring.jwks()))
    assert {k: claims.get_verified_payload()[k] for k in DISCLOSED} == DISCLOSED
    assert header_of(issued.combined)["alg"] == alg


def test_a_tampered_disclosure_is_not_accepted(provider: Any, web: Any, cardholder: Any) -> None:
    channel = add_channel(provider, "bank")
    body = issue_body(provider, "bank")
    credential = web.post("/api/v1/ecards", json=body, headers=bearer(web, channel)).json[
        "credential"
    ]
    jwt, *disclosures, _ = credential.split("~")
    forged = base64.urlsafe_b64encode(
        json.dumps(["c2FsdHNhbHRzYWx0c2FsdA", "name", "李四"], ensure_ascii=False).encode()
    )
    presentation = "~".join([jwt, forged.rstrip(b"=").decode(), ""])
    shown = SDJWTVerifier(presentation, issuer_key(web.get("/jwks.json").json))
    assert "name" not in shown.get_verified_payload()  # its digest is in no _sd
    resigned = jwt[:-4] + ("AAAA" if not jwt.endswith("AAAA") else "BBBB")
    with pytest.raises(InvalidJWSSignature):
        SDJWTVerifier(
            "~".join([resigned, *disclosures, ""]), issuer_key(web.get("/jwks.json").json)
        )
