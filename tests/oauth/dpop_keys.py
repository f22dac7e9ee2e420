"""A DPoP client's side (RFC 9449 4.2): a key pair and the proofs it signs, for the tests."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import rsa

from idp.oauth.rfc9449_dpop import b64url_sha256
from idp.oauth.rfc9449_dpop import jwk_thumbprint

_ALGORITHMS = {"ES256": jwt.algorithms.ECAlgorithm, "PS256": jwt.algorithms.RSAPSSAlgorithm}


@dataclass
class DpopKey:
    alg: str
    private: Any

    @classmethod
    def new(cls, alg: str = "ES256") -> DpopKey:
        if alg == "ES256":
            return cls(alg, ec.generate_private_key(ec.SECP256R1()))
        if alg == "PS256":
            return cls(alg, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        return cls(alg, ed25519.Ed25519PrivateKey.generate())

    def public_jwk(self) -> dict[str, Any]:
        if self.alg == "EdDSA":
            return json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.private.public_key()))
        algorithm: Any = _ALGORITHMS[self.alg]
        return json.loads(algorithm.to_jwk(self.private.public_key()))

    def private_jwk(self) -> dict[str, Any]:
        if self.alg == "EdDSA":
            return json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.private))
        algorithm: Any = _ALGORITHMS[self.alg]
        return json.loads(algorithm.to_jwk(self.private))

    @property
    def jkt(self) -> str:
        return jwk_thumbprint(self.public_jwk())

    def proof(
        self,
        method: str,
        url: str,
        iat: int,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        jti: str | None = None,
        header: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        body: dict[str, Any] = {
            "jti": jti or secrets.token_urlsafe(12),
            "htm": method,
            "htu": url,
            "iat": iat,
        }
        if access_token is not None:
            body["ath"] = b64url_sha256(access_token)
        if nonce is not None:
            body["nonce"] = nonce
        body.update(claims)
        headers = {"typ": "dpop+jwt", "jwk": self.public_jwk(), **(header or {})}
        return jwt.encode(body, self.private, algorithm=self.alg, headers=headers)
