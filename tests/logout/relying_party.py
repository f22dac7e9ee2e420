"""What a portal does with a logout token it receives: OpenID Connect Back-Channel Logout 1.0
section 2.6, written with PyJWT as a relying party would, knowing nothing of essc-idp's code.

``validate`` raises ``Refused`` naming the step that failed; the tests show that each step can
refuse (``test_backchannel_logout.py``), so a token it accepts passed every step.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import jwt

BACKCHANNEL_LOGOUT = "http://schemas.openid.net/event/backchannel-logout"
ALGS = ["ES256", "EdDSA", "PS256", "RS256"]


class Refused(Exception):
    """The portal answers 400 (2.8)."""


def token_of(body: bytes) -> str:
    """2.5: the POST body is ``logout_token=...``, form-encoded."""
    fields = dict(parse_qsl(body.decode("ascii"), strict_parsing=True))
    if set(fields) != {"logout_token"}:
        raise Refused("body")
    return fields["logout_token"]


def validate(
    token: str,
    *,
    jwks: dict[str, Any],
    issuer: str,
    client_id: str,
    alg: str = "ES256",
    seen: set[str],
    now: int,
) -> dict[str, Any]:
    """2.6 in order (no encryption registered, so nothing to decrypt); ``alg`` is the client's
    ``id_token_signed_response_alg``. Matching ``sub``/``sid`` to the ID tokens is the caller's."""
    header = jwt.get_unverified_header(token)
    if header.get("typ") != "logout+jwt":  # 2.4 explicit typing: an ID token cannot pass
        raise Refused("typ")
    keys = {k.get("kid"): k for k in jwks["keys"]}
    if header.get("alg") != alg or header.get("kid") not in keys:  # alg as for ID tokens
        raise Refused("alg")
    key = jwt.PyJWK(keys[header["kid"]], algorithm=alg)
    try:  # signature, iss and aud as for ID tokens (OIDC Core 3.1.3.7)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=client_id,
            issuer=issuer,
            # PyJWT reads the wall clock; the tests run on a fake one, so times are checked below.
            options={
                "require": ["iss", "aud", "iat", "exp", "jti"],
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise Refused(f"jwt: {type(exc).__name__}") from None
    if not claims["iat"] <= now < claims["exp"]:
        raise Refused("exp")
    if "sub" not in claims and "sid" not in claims:
        raise Refused("sub or sid")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT), dict):
        raise Refused("events")
    if "nonce" in claims:
        raise Refused("nonce")
    if claims["jti"] in seen:  # optional: a copy of a token already acted on
        raise Refused("replay")
    seen.add(claims["jti"])
    return claims
