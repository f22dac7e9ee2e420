"""The offline verifier: a scanner checks a code with the published QR keys and status list only.

Importable without Flask or a database (a bus gate, a clinic's scanner, ``essc qr verify``). The
checks run in a fixed order and the first failure is the reason given (docs/qr-token.md 6):
malformed, unknown_key, bad_signature, not_yet_valid, expired, wrong_purpose, revoked.

``JwksFetcher`` and ``StatusListFetcher`` fetch a URL (or read a file), cache what they got and
refresh it periodically; if a refresh fails they keep what they had, so a gate that loses its
network keeps verifying with the last keys and the last list it saw.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import threading
import time
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Protocol

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from idp.qr.token import STATUS_INDEX_BITS
from idp.qr.token import Decoded
from idp.qr.token import Purpose
from idp.qr.token import QrToken
from idp.qr.token import QrTokenError
from idp.qr.token import decode
from idp.qr.token import short_kid
from keys.jwk import thumbprint

Clock = Callable[[], float]
STATUS_LIST_TYP = "statuslist+jwt"
#: A status list never holds more entries than a code can name (2**24 bits = 2 MiB).
STATUS_LIST_BYTES = 2**STATUS_INDEX_BITS // 8
MAX_DOCUMENT = 3 * 2**20
DEFAULT_SKEW = 30


class VerifierError(Exception):
    """The keys or the status list could not be loaded (bad JWKS, bad list, no network)."""


# -- keys -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QrPublicKey:
    kid: str
    alg: str
    key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            if isinstance(self.key, ed25519.Ed25519PublicKey):
                self.key.verify(signature, data)
            else:  # ES256, the code carries r || s (RFC 7518 3.4)
                r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                self.key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


class QrKeySet:
    """The public keys of a JWKS that can sign codes (Ed25519 and P-256), by the 4 kid bytes a
    code carries. The kid is recomputed as the RFC 7638 thumbprint, not trusted from the JWKS."""

    def __init__(self, keys: list[QrPublicKey]) -> None:
        self.keys = keys
        self._by_short: dict[bytes, list[QrPublicKey]] = {}
        for key in keys:
            self._by_short.setdefault(short_kid(key.kid), []).append(key)
        self._by_kid = {k.kid: k for k in keys}

    @classmethod
    def from_jwks(cls, jwks: Any) -> QrKeySet:
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise VerifierError("not a JWK Set")
        return cls([k for k in map(_public_key, jwks["keys"]) if k is not None])

    def candidates(self, kid: bytes) -> list[QrPublicKey]:
        """Every key whose thumbprint starts with ``kid`` (4 bytes may collide: try each)."""
        return self._by_short.get(kid, [])

    def by_kid(self, kid: str) -> QrPublicKey | None:
        return self._by_kid.get(kid)


def _public_key(jwk: Any) -> QrPublicKey | None:
    """A JWK usable for codes, or None (other keys of a shared JWKS are skipped, not errors)."""
    if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
        return None
    try:
        if (
            jwk.get("kty") == "OKP"
            and jwk.get("crv") == "Ed25519"
            and jwk.get("alg", "EdDSA") == "EdDSA"
        ):
            raw = _b64url_decode(str(jwk["x"]))
            return QrPublicKey(
                thumbprint(jwk), "EdDSA", ed25519.Ed25519PublicKey.from_public_bytes(raw)
            )
        if (
            jwk.get("kty") == "EC"
            and jwk.get("crv") == "P-256"
            and jwk.get("alg", "ES256") == "ES256"
        ):
            x = int.from_bytes(_b64url_decode(str(jwk["x"])), "big")
            y = int.from_bytes(_b64url_decode(str(jwk["y"])), "big")
            key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
            return QrPublicKey(thumbprint(jwk), "ES256", key)
    except (KeyError, ValueError, binascii.Error):
        raise VerifierError("a JWK in the set is malformed") from None
    return None


def _b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


# -- the status list (draft-ietf-oauth-status-list) -----------------------------------------------
@dataclass(frozen=True)
class StatusList:
    """A verified status list: bit ``i`` (least significant bit of byte i // 8 first) set means
    the code whose status index is ``i`` is revoked."""

    bits: bytes
    issued_at: int
    expires_at: int | None
    ttl: int | None

    def is_revoked(self, index: int) -> bool:
        byte = index >> 3
        return byte < len(self.bits) and bool(self.bits[byte] >> (index & 7) & 1)

    @classmethod
    def from_jwt(cls, token: str, keys: QrKeySet, *, subject: str | None, now: float) -> StatusList:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise VerifierError("the status list is not a JWT") from None
        if header.get("typ") != STATUS_LIST_TYP:
            raise VerifierError("the status list JWT has the wrong typ")
        key = keys.by_kid(str(header.get("kid", "")))
        if key is None or header.get("alg") != key.alg:
            raise VerifierError("the status list is signed by an unknown key")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.alg],
                options={"require": ["iat", "sub"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise VerifierError(f"the status list does not verify ({type(exc).__name__})") from None
        if subject is not None and claims.get("sub") != subject:
            raise VerifierError("the status list is for another URI")
        exp = claims.get("exp")
        if isinstance(exp, int) and exp <= now:
            raise VerifierError("the status list has expired")
        return cls(_bits(claims.get("status_list")), int(claims["iat"]), exp, claims.get("ttl"))


def _bits(status_list: Any) -> bytes:
    if not isinstance(status_list, dict) or status_list.get("bits") != 1:
        raise VerifierError("the status list must have bits = 1")
    try:
        compressed = _b64url_decode(str(status_list["lst"]))
        inflater = zlib.decompressobj()
        bits = inflater.decompress(compressed, STATUS_LIST_BYTES)
    except (KeyError, ValueError, binascii.Error, zlib.error):
        raise VerifierError("the status list's lst is not base64url zlib") from None
    if inflater.unconsumed_tail:
        raise VerifierError("the status list is larger than 2**24 entries")
    return bits


# -- fetching -------------------------------------------------------------------------------------
def read_source(source: str, timeout: float = 10.0) -> bytes:
    """The bytes at an http(s) URL or in a file; at most 3 MiB."""
    if source.startswith(("https://", "http://")):
        accept = {"Accept": "application/json, application/statuslist+jwt"}
        req = urllib.request.Request(source, headers=accept)  # noqa: S310 (http(s) only)
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            data: bytes = response.read(MAX_DOCUMENT + 1)
    else:
        data = Path(source).read_bytes()[: MAX_DOCUMENT + 1]
    if len(data) > MAX_DOCUMENT:
        raise VerifierError("the document is larger than 3 MiB")
    return data


class _Cached:
    """When to load a value again: ``refresh_seconds`` after a load; ``retry_seconds`` after a
    failed one (the old value is kept). ``force`` (an unknown kid) loads early, but at most once
    per ``retry_seconds``, so a stream of forged kids cannot hammer the issuer."""

    def __init__(self, refresh_seconds: float, retry_seconds: float, clock: Clock) -> None:
        self._refresh, self._retry, self._clock = refresh_seconds, retry_seconds, clock
        self.lock = threading.Lock()
        self._next_at = float("-inf")
        self._tried_at = float("-inf")
        self.inline = True

    def due(self, force: bool) -> bool:
        now = self._clock()
        return now >= self._next_at or (force and now >= self._tried_at + self._retry)

    def wanted(self, empty: bool, force: bool) -> bool:
        """Whether a scan should load now: nothing loaded yet; an unknown kid (``force``, rate
        limited); or due, unless a ``keep_fresh`` thread does the refreshing."""
        if empty or (force and self.due(True)):
            return True
        return self.inline and self.due(False)

    def loaded(self, ok: bool, refresh: float | None = None) -> None:
        self._tried_at = now = self._clock()
        delay = (refresh if refresh is not None else self._refresh) if ok else self._retry
        self._next_at = now + delay


class JwksFetcher:
    """The QR JWKS from a URL or a file, cached ``refresh_seconds`` (one hour by default)."""

    def __init__(
        self,
        source: str,
        *,
        refresh_seconds: float = 3600,
        clock: Clock = time.time,
        read: Callable[[str], bytes] = read_source,
    ) -> None:
        self.source = source
        self._read = read
        self._cache = _Cached(refresh_seconds, 60, clock)
        self._keys: QrKeySet | None = None

    @property
    def inline_refresh(self) -> bool:
        return self._cache.inline

    @inline_refresh.setter
    def inline_refresh(self, value: bool) -> None:
        self._cache.inline = value

    def key_set(self, *, force: bool = False) -> QrKeySet:
        with self._cache.lock:
            if self._cache.wanted(self._keys is None, force):
                self._load()
            assert self._keys is not None
            return self._keys

    def refresh(self) -> None:
        """Load again if due (``keep_fresh``'s thread calls this)."""
        with self._cache.lock:
            if self._cache.due(False):
                self._load()

    def _load(self) -> None:
        try:
            self._keys = QrKeySet.from_jwks(json.loads(self._read(self.source)))
            self._cache.loaded(True)
        except (OSError, ValueError, VerifierError) as exc:
            self._cache.loaded(False)
            if self._keys is None:
                raise VerifierError(f"cannot load the JWKS: {exc}") from None


class StatusListFetcher:
    """The status list from a URL or a file, refreshed after its ``ttl`` (else
    ``refresh_seconds``)."""

    def __init__(
        self,
        source: str,
        keys: Callable[[], QrKeySet],
        *,
        subject: str | None = None,
        refresh_seconds: float = 60,
        clock: Clock = time.time,
        read: Callable[[str], bytes] = read_source,
    ) -> None:
        self.source, self._keys, self._subject = source, keys, subject
        self._clock, self._read = clock, read
        self._cache = _Cached(refresh_seconds, min(refresh_seconds, 30), clock)
        self._list: StatusList | None = None

    @property
    def inline_refresh(self) -> bool:
        return self._cache.inline

    @inline_refresh.setter
    def inline_refresh(self, value: bool) -> None:
        self._cache.inline = value

    def status_list(self, *, force: bool = False) -> StatusList:
        with self._cache.lock:
            if self._cache.wanted(self._list is None, force):
                self._load()
            assert self._list is not None
            return self._list

    def refresh(self) -> None:
        """Load again if due (``keep_fresh``'s thread calls this)."""
        with self._cache.lock:
            if self._cache.due(False):
                self._load()

    def _load(self) -> None:
        try:
            text = self._read(self.source).decode("ascii").strip()
            found = StatusList.from_jwt(
                text, self._keys(), subject=self._subject, now=self._clock()
            )
            self._list = found
            self._cache.loaded(True, found.ttl if isinstance(found.ttl, int) else None)
        except (OSError, ValueError, VerifierError) as exc:
            self._cache.loaded(False)
            if self._list is None:
                raise VerifierError(f"cannot load the status list: {exc}") from None


class Refreshable(Protocol):
    inline_refresh: bool

    def refresh(self) -> None: ...


def keep_fresh(*sources: Refreshable, every: float = 5.0) -> threading.Event:
    """Refresh ``sources`` from a daemon thread, so a scan never waits for the network: after
    this, a scan fetches only what was never loaded, or the JWKS for an unknown kid. Set the
    returned event to stop the thread."""
    stop = threading.Event()
    for source in sources:
        source.inline_refresh = False

    def run() -> None:
        while not stop.is_set():
            for source in sources:
                # Nothing loaded yet and no network: the next round tries again.
                with contextlib.suppress(VerifierError):
                    source.refresh()
            stop.wait(every)

    threading.Thread(target=run, name="essc-qr-refresh", daemon=True).start()
    return stop


# -- the verifier ---------------------------------------------------------------------------------
class KeySource(Protocol):
    def key_set(self, *, force: bool = False) -> QrKeySet: ...


class StatusSource(Protocol):
    def status_list(self, *, force: bool = False) -> StatusList: ...


class _Fixed:
    def __init__(self, keys: QrKeySet) -> None:
        self._keys = keys

    def key_set(self, *, force: bool = False) -> QrKeySet:
        return self._keys


class OfflineVerifier:
    """``verify(text, purpose)`` -> the token, or ``QrTokenError`` with the exact reason."""

    def __init__(
        self,
        keys: KeySource | QrKeySet | dict[str, Any],
        status: StatusSource | None = None,
        *,
        clock: Clock = time.time,
        skew: int = DEFAULT_SKEW,
    ) -> None:
        if isinstance(keys, dict):
            keys = QrKeySet.from_jwks(keys)
        self._keys: KeySource = _Fixed(keys) if isinstance(keys, QrKeySet) else keys
        self._status, self._clock, self._skew = status, clock, skew

    def verify(self, text: str, purpose: Purpose | str | None = None) -> QrToken:
        decoded = decode(text)
        token = decoded.token
        if not self.signed_by_known_key(decoded):
            raise QrTokenError("bad_signature")
        check_times(token, self._clock(), self._skew)
        check_purpose(token, purpose)
        if self._status is not None and self._status.status_list().is_revoked(token.status_index):
            raise QrTokenError("revoked")
        return token

    def signed_by_known_key(self, decoded: Decoded) -> bool:
        """Whether a published key made the signature; ``unknown_key`` if none has the kid."""
        kid = decoded.token.kid
        candidates = self._keys.key_set().candidates(kid)
        if not candidates:  # a key published after our last fetch: refresh (rate-limited)
            candidates = self._keys.key_set(force=True).candidates(kid)
        if not candidates:
            raise QrTokenError("unknown_key")
        return any(k.verify(decoded.signature, decoded.signing_input) for k in candidates)


def check_times(token: QrToken, now: float, skew: int) -> None:
    if token.issued_at - skew > now:
        raise QrTokenError("not_yet_valid")
    if token.expires_at + skew <= now:
        raise QrTokenError("expired")


def check_purpose(token: QrToken, purpose: Purpose | str | None) -> None:
    if purpose is None:
        return
    expected = purpose if isinstance(purpose, Purpose) else Purpose.parse(purpose)
    if token.purpose is not expected:
        raise QrTokenError("wrong_purpose")
