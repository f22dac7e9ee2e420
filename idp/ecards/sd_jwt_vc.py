"""SD-JWT VC issuance: an issuer-signed JWT whose personal claims travel as disclosures.

Per SD-JWT (IETF OAuth WG, draft-ietf-oauth-selective-disclosure-jwt) and SD-JWT VC
(draft-ietf-oauth-sd-jwt-vc): each selectively disclosable claim becomes a Disclosure, the
base64url of the JSON array ``[salt, name, value]``; the signed payload carries only the
base64url SHA-256 digests of those strings in ``_sd`` (sorted, so the order of the claims is
hidden) and ``_sd_alg: "sha-256"``. The header's ``typ`` is ``dc+sd-jwt``; ``vct`` names the
credential type. The issued form is ``<JWT>~<Disclosure 1>~...~<Disclosure N>~`` (no Key Binding
JWT: the channel, not a wallet key, holds the e-card).

Pure: no Flask, no storage. Salts come from the caller so an idempotent retry can rebuild the
very same disclosures (see ``idp.ecards.service``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SD_JWT_VC_TYPE = "dc+sd-jwt"
SD_ALG = "sha-256"
#: Claim names a Disclosure may not use (SD-JWT: ``_sd``, ``...``; SD-JWT VC 3.2.2: the
#: registered claims that must stay in the clear).
RESERVED = frozenset({"_sd", "...", "iss", "nbf", "exp", "cnf", "vct", "status", "iat"})

Sign = Callable[[dict[str, Any], str], str]
Salt = Callable[[str], str]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def disclosure(salt: str, name: str, value: Any) -> str:
    """SD-JWT "Disclosures for Object Properties": base64url of UTF-8 ``[salt, name, value]``."""
    if name in RESERVED:
        raise ValueError("this claim cannot be selectively disclosable")
    array = json.dumps([salt, name, value], ensure_ascii=False, separators=(",", ":"))
    return b64url(array.encode("utf-8"))


def digest(disclosure_text: str) -> str:
    """SD-JWT "Hashing Disclosures": base64url SHA-256 over the ASCII of the Disclosure."""
    return b64url(hashlib.sha256(disclosure_text.encode("ascii")).digest())


@dataclass(frozen=True)
class IssuedSdJwt:
    """The combined ``<JWT>~<D>~...~`` string, and its parts for inspection and tests."""

    combined: str
    jwt: str
    disclosures: tuple[str, ...]


def issue(
    sign: Sign,
    *,
    clear: Mapping[str, Any],
    disclosable: Mapping[str, Any],
    salt: Salt,
) -> IssuedSdJwt:
    """Sign ``clear`` claims plus ``_sd`` digests of ``disclosable`` ones.

    ``clear`` must hold ``iss`` and ``vct`` (SD-JWT VC 3.2.2). ``salt(name)`` returns at least
    128 bits of base64url randomness per claim (SD-JWT "Salt" security consideration).
    """
    if not clear.get("iss") or not clear.get("vct"):
        raise ValueError("an SD-JWT VC needs iss and vct")
    disclosures = tuple(disclosure(salt(name), name, disclosable[name]) for name in disclosable)
    payload = dict(clear)
    payload["_sd"] = sorted(digest(d) for d in disclosures)
    payload["_sd_alg"] = SD_ALG
    token = sign(payload, SD_JWT_VC_TYPE)
    return IssuedSdJwt("~".join((token, *disclosures)) + "~", token, disclosures)


def disclosed_claims(payload: Mapping[str, Any], disclosures: list[str]) -> dict[str, Any]:
    """A verifier's view: the clear claims plus every disclosure whose digest is in ``_sd``.

    ``payload`` is the already signature-checked JWT payload. A disclosure not referenced by
    ``_sd``, referenced twice, or malformed raises ``ValueError`` (SD-JWT "Verifying the SD-JWT").
    """
    if payload.get("_sd_alg") != SD_ALG:
        raise ValueError("unsupported _sd_alg")
    wanted = set(payload.get("_sd", []))
    claims = {k: v for k, v in payload.items() if k not in ("_sd", "_sd_alg")}
    for text in disclosures:
        if digest(text) not in wanted:
            raise ValueError("a disclosure is not part of this SD-JWT")
        wanted.discard(digest(text))
        item = json.loads(b64url_decode(text))
        if not isinstance(item, list) or len(item) != 3 or not isinstance(item[1], str):
            raise ValueError("a disclosure is malformed")
        if item[1] in claims or item[1] in RESERVED:
            raise ValueError("a disclosure repeats a claim")
        claims[item[1]] = item[2]
    return claims


def split(combined: str) -> tuple[str, list[str]]:
    """``<JWT>~<D1>~...~`` into the JWT and the Disclosures (a trailing KB-JWT is refused)."""
    parts = combined.split("~")
    if len(parts) < 2 or parts[-1]:
        raise ValueError("not an SD-JWT without key binding")
    return parts[0], parts[1:-1]
