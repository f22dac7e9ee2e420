"""A FAPI 2.0 client's side, for the tests: its signing key, client assertions (RFC 7523),
request objects (RFC 9101), DPoP proofs (RFC 9449), and the PAR and token calls it makes."""

from __future__ import annotations

import json
import secrets
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from idp.provider import Provider
from keys.jwk import public_jwk
from keys.jwk import thumbprint
from tests.oauth.dpop_keys import DpopKey
from tests.support import authorize_params
from tests.support import pkce_pair
from tests.support import register

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
REDIRECT_URI = "https://bank.example/cb"


def signing_key() -> tuple[Any, str, dict[str, Any]]:
    """An EC P-256 key, its kid and its public JWK as a client registers it."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = public_jwk(key.public_key())
    kid = thumbprint(jwk)
    return key, kid, {**jwk, "kid": kid, "use": "sig", "alg": "ES256"}


class FapiClient:
    """A bank's server: ``private_key_jwt`` with its own key, PAR, DPoP."""

    def __init__(self, provider: Provider, *, fapi2: bool = True, **metadata: Any) -> None:
        self.key, self.kid, jwk = signing_key()
        self.provider = provider
        self.issuer = provider.issuer
        self.dpop = DpopKey.new()
        registered = register(
            provider,
            kind="bank",
            auth_method="private_key_jwt",
            jwks={"keys": [jwk]},
            redirect_uris=(REDIRECT_URI,),
            fapi2=fapi2,
            **metadata,
        )
        self.client_id = registered.client_id
        self.client_secret = None
        self.redirect_uri = REDIRECT_URI

    def now(self) -> int:
        return int(self.provider.clock())

    def assertion(self, *, lifetime: int = 60, **claims: Any) -> str:
        now = self.now()
        body: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.issuer,
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_urlsafe(16),
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="ES256", headers={"kid": self.kid})

    def auth(self, **claims: Any) -> dict[str, str]:
        assertion = self.assertion(**claims)
        return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}

    def request_object(
        self,
        params: dict[str, Any],
        *,
        key: Any = None,
        alg: str = "ES256",
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        now = self.now()
        body: dict[str, Any] = {
            "iss": self.client_id,
            "aud": self.issuer,
            "client_id": self.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(16),
            **params,
            **claims,
        }
        body = {k: v for k, v in body.items() if v is not None}
        header = {"kid": self.kid, "typ": "oauth-authz-req+jwt", **(headers or {})}
        signer = self.key if key is None else key
        # Signed as bytes, so that a test may put any JSON in any claim (jwt.encode refuses a
        # non-string iss, say): the server must refuse such objects itself.
        payload = json.dumps(body, allow_nan=True).encode()
        return jwt.api_jws.encode(payload, signer, algorithm=alg, headers=header)

    def params(self, **extra: str) -> tuple[dict[str, str], str]:
        """A valid authorization request's parameters, and its PKCE verifier."""
        verifier, challenge = pkce_pair()
        params = authorize_params(self, challenge, **extra)
        return params, verifier

    def push(self, web: Any, form: dict[str, str], *, proof: bool = True, **claims: Any) -> Any:
        headers = {}
        if proof:
            headers["DPoP"] = self.dpop.proof("POST", f"{self.issuer}/par", self.now())
        return web.post("/par", data={**form, **self.auth(**claims)}, headers=headers)

    def redeem(self, web: Any, code: str, verifier: str, *, proof: bool = True) -> Any:
        headers = {}
        if proof:
            headers["DPoP"] = self.dpop.proof("POST", f"{self.issuer}/token", self.now())
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
            **self.auth(),
        }
        return web.post("/token", data=form, headers=headers)
