"""DPoP proofs (RFC 9449): checking one (4.3), its key's thumbprint (RFC 7638), server nonces (8).

A client proves possession of a key by signing, per request, a short JWT over the method and URL
(``htm``, ``htu``), with a fresh ``jti`` and ``iat``, and at a resource the hash of the access
token it presents (``ath``). The token endpoint binds the tokens it issues to that key
(``cnf.jkt``, 6.1); a resource accepts a bound token only with a proof by the same key (7.1).

Nonces are stateless: a keyed hash of the current time slot, so every server process accepts
every other's without storage, and one stays good for one to two slots. ``jti`` single use goes to
an expiring set (Redis or the database, ``idp.store.expiring``). No Flask, no SQLAlchemy here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import Protocol
from urllib.parse import urlsplit

import jwt

from idp.errors import DpopChallenge
from idp.errors import InvalidDpopProof
from idp.errors import UseDpopNonce

PROOF_TYPE = "dpop+jwt"
#: Asymmetric only (4.2); each with the one key type and curve it may be used with.
ALGS: dict[str, tuple[str, str | None]] = {
    "ES256": ("EC", "P-256"),
    "PS256": ("RSA", None),
    "EdDSA": ("OKP", "Ed25519"),
}
#: Longer than any proof with a 4096-bit RSA key in its header (about 1.4 KiB).
MAX_PROOF_LENGTH = 8192
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
#: RFC 7638 3.2: the required members of each key type, the only ones the thumbprint hashes.
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}
#: Members that only a private key has (RFC 7518 6.2.2, 6.3.2; RFC 8037 2).
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_MIN_RSA_BITS = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class ReplayCache(Protocol):
    def add_once(self, key: str, expires_at: int) -> bool: ...


@dataclass(frozen=True)
class Proof:
    #: The RFC 7638 thumbprint of the proof's key: what ``cnf.jkt`` holds.
    jkt: str


def b64url_sha256(value: str) -> str:
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_same_key(bound: str | None, binding: Mapping[str, str] | None) -> None:
    """RFC 9449 5, 10: a code or refresh token bound to a key is redeemed only with a proof by
    that key."""
    if bound is None:
        return
    jkt = binding.get("jkt") if binding is not None else None
    if jkt is None or not hmac.compare_digest(jkt, bound):
        raise InvalidDpopProof("a DPoP proof by the bound key is required", detail="jkt mismatch")


def bound_jkt(claims: dict[str, Any]) -> str | None:
    """The DPoP key thumbprint a token is bound to (6.1 ``cnf.jkt``), or None."""
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    return jkt if isinstance(jkt, str) else None


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 3: SHA-256 over the required members, sorted, without white space."""
    members = _THUMBPRINT_MEMBERS[str(jwk["kty"])]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url_sha256(canonical)


class DpopProofs:
    """Checks proofs for one server: ``max_age`` and ``leeway`` bound ``iat`` (11), ``replay``
    remembers each ``jti`` as long as its proof could be accepted (11.1), ``nonce_key`` is the
    keyed hash nonces are made with, None when nonces are not required."""

    def __init__(
        self,
        replay: ReplayCache,
        *,
        max_age: int,
        leeway: int,
        clock: Callable[[], float],
        nonce_key: Callable[[str], str] | None = None,
        nonce_seconds: int = 300,
    ) -> None:
        self._replay = replay
        self._max_age = max_age
        self._leeway = leeway
        self._clock = clock
        self._nonce_key = nonce_key
        self._nonce_seconds = nonce_seconds

    def nonce(self) -> str | None:
        """The nonce to send in ``DPoP-Nonce`` now (8.1), or None when none is required."""
        if self._nonce_key is None:
            return None
        return self._nonce_for(int(self._clock()) // self._nonce_seconds)

    def _nonce_for(self, slot: int) -> str:
        assert self._nonce_key is not None
        return self._nonce_key(f"dpop-nonce:{slot}")[:43]

    def check(
        self, header: str | None, method: str, url: str, *, access_token: str | None = None
    ) -> Proof:
        """RFC 9449 4.3 (and 7.1 with ``access_token``): the proof in the ``DPoP`` header is
        for this method and URL, fresh, by a public key it carries, and seen once.
        ``InvalidDpopProof`` or ``UseDpopNonce`` otherwise; neither names request input."""
        token = _one_compact_jwt(header)
        jwk, alg = _header(token)
        claims = _verified_claims(token, jwk, alg)
        now = int(self._clock())
        _check_claims(claims, method, url, access_token)
        iat = claims["iat"]
        if iat > now + self._leeway or iat < now - self._max_age:
            raise InvalidDpopProof("the DPoP proof is not fresh", detail=f"iat {iat} at {now}")
        self._check_nonce(claims.get("nonce"), now)
        key = b64url_sha256(str(claims["jti"]))
        if not self._replay.add_once(key, now + self._max_age + self._leeway):
            raise InvalidDpopProof("the DPoP proof was already used", detail="jti replay")
        return Proof(jwk_thumbprint(jwk))

    def check_resource(
        self,
        claims: dict[str, Any],
        scheme: str,
        token: str,
        header: str | None,
        method: str,
        url: str,
    ) -> None:
        """RFC 9449 7.1-7.2 at a protected resource, for a verified token's ``claims``: a
        DPoP-bound token only with ``Authorization: DPoP`` and a proof by its key over this
        request and this token; ``DPoP`` only with a bound token. ``DpopChallenge`` else."""
        jkt = bound_jkt(claims)
        if scheme != "dpop":
            if jkt is not None:
                raise DpopChallenge("the token is DPoP-bound", detail="bound token as Bearer")
            return
        if jkt is None:
            raise DpopChallenge("the token is not DPoP-bound", detail="bearer token as DPoP")
        try:
            proof = self.check(header, method, url, access_token=token)
        except InvalidDpopProof as exc:
            raise DpopChallenge(
                exc.description, code=exc.error, detail=exc.detail, nonce=exc.nonce
            ) from None
        if not hmac.compare_digest(proof.jkt, jkt):
            raise DpopChallenge("the DPoP proof key is not the token's", detail="jkt mismatch")

    def token_binding(
        self, header: str | None, method: str, url: str, *, required: bool
    ) -> dict[str, str] | None:
        """RFC 9449 5, 6.1: the ``cnf`` of the tokens issued for this token request: its
        proof's key, or None without a ``DPoP`` header, unless the client registered
        ``dpop_bound_access_tokens`` (5.2, ``required``)."""
        if header is None and not required:
            return None
        return {"jkt": self.check(header, method, url).jkt}

    def _check_nonce(self, nonce: object, now: int) -> None:
        """RFC 9449 8: this slot's nonce or the last's, else ``use_dpop_nonce`` with a new one."""
        if self._nonce_key is None:
            return
        slot = now // self._nonce_seconds
        fresh = (self._nonce_for(slot), self._nonce_for(slot - 1))
        if not isinstance(nonce, str) or not any(hmac.compare_digest(nonce, f) for f in fresh):
            raise UseDpopNonce("a DPoP nonce is required", nonce=fresh[0])


def _one_compact_jwt(header: str | None) -> str:
    """4.3 1-2: one header (a second one joins the first with a comma), a compact JWS."""
    if header is None:
        raise InvalidDpopProof("a DPoP proof is required", detail="no DPoP header")
    if len(header) > MAX_PROOF_LENGTH or not _COMPACT.fullmatch(header):
        raise InvalidDpopProof("the DPoP proof is malformed", detail="not one compact JWS")
    return header


def _header(token: str) -> tuple[dict[str, Any], str]:
    """4.3 4-7: ``typ`` ``dpop+jwt``, an asymmetric ``alg`` and a public ``jwk`` matching it."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidDpopProof("the DPoP proof is malformed", detail="header") from None
    if header.get("typ") != PROOF_TYPE:
        raise InvalidDpopProof("the DPoP proof has the wrong typ", detail="typ")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGS:
        raise InvalidDpopProof("the DPoP proof alg is not supported", detail="alg")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or not all(isinstance(k, str) for k in jwk):
        raise InvalidDpopProof("the DPoP proof has no jwk", detail="jwk")
    if not _PRIVATE_MEMBERS.isdisjoint(jwk):
        raise InvalidDpopProof("the DPoP proof jwk must be a public key", detail="private jwk")
    kty, crv = ALGS[alg]
    members = _THUMBPRINT_MEMBERS[kty]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        raise InvalidDpopProof("the DPoP proof jwk does not fit its alg", detail="kty/crv")
    if not all(isinstance(jwk.get(m), str) for m in members):
        raise InvalidDpopProof("the DPoP proof jwk is malformed", detail="members")
    return jwk, alg


def _verified_claims(token: str, jwk: dict[str, Any], alg: str) -> dict[str, Any]:
    """4.3 6: the signature, by the header's own key."""
    try:
        key = jwt.PyJWK(jwk, algorithm=alg)
        if alg == "PS256" and key.key.key_size < _MIN_RSA_BITS:
            raise InvalidDpopProof("the DPoP proof key is too short", detail="rsa bits")
        signed = jwt.PyJWS().decode_complete(token, key=key, algorithms=[alg])
        claims = json.loads(signed["payload"])
    except (jwt.PyJWTError, ValueError, TypeError, binascii.Error):
        raise InvalidDpopProof("the DPoP proof signature is invalid", detail="jws") from None
    if not isinstance(claims, dict):
        raise InvalidDpopProof("the DPoP proof is malformed", detail="payload")
    return claims


def _check_claims(claims: dict[str, Any], method: str, url: str, access_token: str | None) -> None:
    """4.3 3, 8-9, 12: ``jti``, ``htm``, ``htu``, ``iat`` present; this request's; ``ath``."""
    jti, htm, htu, iat = (claims.get(n) for n in ("jti", "htm", "htu", "iat"))
    if not isinstance(jti, str) or not 0 < len(jti) <= 256:
        raise InvalidDpopProof("the DPoP proof needs a jti", detail="jti")
    if not isinstance(iat, int) or isinstance(iat, bool):
        raise InvalidDpopProof("the DPoP proof needs an integer iat", detail="iat")
    if htm != method:
        raise InvalidDpopProof("the DPoP proof is for another method", detail="htm")
    if not isinstance(htu, str) or _htu(htu) != _htu(url):
        raise InvalidDpopProof("the DPoP proof is for another URL", detail="htu")
    if access_token is None:
        return
    ath = claims.get("ath")
    if not isinstance(ath, str) or not hmac.compare_digest(ath, b64url_sha256(access_token)):
        raise InvalidDpopProof("the DPoP proof ath does not match the token", detail="ath")


def _htu(url: str) -> str | None:
    """4.3 9: compared without query and fragment, after the syntax- and scheme-based
    normalisation of RFC 3986 6.2.2-6.2.3: case, percent-encoding (``%2E`` is ``.``, ``%2F``
    stays a literal slash's escape), dot segments (5.2.4, so ``/a/../token`` is ``/token``),
    default port, empty path. A URL that is not absolute http(s) matches nothing."""
    if len(url) > MAX_PROOF_LENGTH or not url.isascii() or any(c <= " " for c in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None:
        return None
    host = f"[{host}]" if ":" in host else host
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = remove_dot_segments(_PERCENT.sub(_normal_escape, parts.path or "/"))
    return f"{scheme}://{netloc}{path}"


def remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4 for an absolute path: ``.`` and ``..`` segments resolved, never above
    the root (``/../x`` is ``/x``); the last segment's trailing slash kept."""
    segments = path.split("/")[1:]
    out: list[str] = []
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "..":
            if out:
                out.pop()
            if last:
                out.append("")
        elif segment == ".":
            if last:
                out.append("")
        else:
            out.append(segment)
    return "/" + "/".join(out)


def _normal_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()
