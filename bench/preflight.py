"""Before loading an endpoint, check once that it answers what the scenario claims to measure:
a 200 whose access token is an RFC 9068 JWT that verifies against the server's /jwks.json."""

from __future__ import annotations

from typing import Any

import jwt
import requests

from bench.instance import Instance


class PreflightError(RuntimeError):
    """The endpoint answered, but not with what the benchmark is meant to measure."""


def verify_access_token(issuer: str, token: str) -> dict[str, Any]:
    jwks = requests.get(f"{issuer}/jwks.json", timeout=10).json()
    header = jwt.get_unverified_header(token)
    if str(header.get("typ", "")).lower() != "at+jwt":
        raise PreflightError(f"access token typ is {header.get('typ')!r}, not at+jwt")
    for jwk in jwks.get("keys", []):
        if jwk.get("kid") == header.get("kid"):
            key = jwt.PyJWK(jwk)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[header["alg"]],
                issuer=issuer,
                options={"verify_aud": False, "require": ["exp", "iat", "jti"]},
            )
            return claims
    raise PreflightError(f"no key {header.get('kid')!r} in /jwks.json")


def client_credentials(instance: Instance, scope: str) -> None:
    response = requests.post(
        f"{instance.issuer}/token",
        data={"grant_type": "client_credentials", **({"scope": scope} if scope else {})},
        headers={"Authorization": instance.service.basic},
        timeout=10,
    )
    if response.status_code != 200 or "access_token" not in response.json():
        raise PreflightError(f"client_credentials: {response.status_code} {response.text[:300]}")
    verify_access_token(instance.issuer, response.json()["access_token"])
