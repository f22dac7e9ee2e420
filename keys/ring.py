"""The signing key ring: the only code that holds private signing keys.

Each algorithm has at most one ``active`` key (it signs), one ``pending`` key (published in the
JWKS before it signs, so verifiers have it cached when rotation promotes it) and any number of
``retired`` keys (still published until every token they signed has expired). ``kid`` is the
RFC 7638 thumbprint of the public key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from keys.algorithms import SIGNING_ALGS
from keys.jwk import PublicKey
from keys.jwk import public_jwk
from keys.jwk import thumbprint
from keys.jws import encode_header
from keys.jws import sign_compact_with
from keys.store import ACTIVE
from keys.store import PENDING
from keys.store import RETIRED
from keys.store import KeyStore
from keys.store import StoredSigningKey
from keys.vault import Sign
from keys.vault import Vault

Clock = Callable[[], float]


class KeyRingError(Exception):
    """The key ring cannot do what was asked (no key for an algorithm, not initialised)."""


class InvalidSignature(Exception):
    """One opaque failure for every reason a JWT does not verify; ``reason`` is for logs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_times(claims: dict[str, Any], now: float, leeway: int) -> None:
    """RFC 7519 4.1.4/4.1.5: ``exp`` in the future, ``nbf``/``iat`` not in the future."""
    exp = claims.get("exp")
    if exp is not None and (not isinstance(exp, int | float) or exp + leeway <= now):
        raise InvalidSignature("expired")
    for name in ("nbf", "iat"):
        value = claims.get(name)
        if value is not None and (not isinstance(value, int | float) or value - leeway > now):
            raise InvalidSignature(f"{name} in the future")


@dataclass(frozen=True)
class _LoadedKey:
    kid: str
    alg: str
    state: str
    sign: Sign
    public: PublicKey
    jwk: dict[str, Any]
    retired_at: int | None


@dataclass(frozen=True)
class Rotation:
    alg: str
    activated: str | None
    retired: str | None
    pending: str


class SigningKeys:
    """Sign, verify, publish and rotate; loaded from a ``KeyStore`` and refreshed periodically."""

    def __init__(
        self,
        store: KeyStore,
        vault: Vault,
        *,
        publish_retired_for: int,
        refresh_seconds: int = 60,
        clock: Clock = time.time,
    ) -> None:
        self._store = store
        self._vault = vault
        self._publish_retired_for = publish_retired_for
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, _LoadedKey] = {}
        self._active: dict[str, _LoadedKey] = {}
        self._jwks: dict[str, Any] = {"keys": []}
        self._headers: dict[tuple[str, str], bytes] = {}
        self._loaded_at = float("-inf")

    # -- loading ---------------------------------------------------------------------------
    def reload(self) -> None:
        loaded: dict[str, _LoadedKey] = {}
        for stored in self._store.signing_keys():
            previous = self._keys.get(stored.kid)
            if previous is not None and previous.state == stored.state:
                loaded[stored.kid] = previous
                continue
            # The public key comes from where the private key lives (unwrapped, or the
            # token), not from the stored JWK, which a database writer could replace.
            sealed = stored.wrapped_private
            loaded[stored.kid] = _LoadedKey(
                kid=stored.kid,
                alg=stored.alg,
                state=stored.state,
                sign=self._vault.signer(stored.kid, sealed, stored.alg),
                public=self._vault.public_key(stored.kid, sealed),
                jwk=stored.public_jwk,
                retired_at=stored.retired_at,
            )
        self._install(loaded)

    def _install(self, loaded: dict[str, _LoadedKey]) -> None:
        now = self._clock()
        published = [
            key
            for key in loaded.values()
            if key.state != RETIRED or (key.retired_at or 0) + self._publish_retired_for > now
        ]
        order = {ACTIVE: 0, PENDING: 1, RETIRED: 2}
        published.sort(key=lambda k: (SIGNING_ALGS.index(k.alg), order[k.state]))
        with self._lock:
            self._keys = {k.kid: k for k in published}
            self._active = {k.alg: k for k in published if k.state == ACTIVE}
            self._jwks = {
                "keys": [{**k.jwk, "kid": k.kid, "alg": k.alg, "use": "sig"} for k in published]
            }
            self._loaded_at = now

    def _fresh(self) -> None:
        if self._clock() - self._loaded_at >= self._refresh_seconds:
            self.reload()

    # -- the safe surface -----------------------------------------------------------------
    def sign(self, claims: dict[str, Any], *, alg: str = "ES256", typ: str = "JWT") -> str:
        """A compact JWS over ``claims`` with the active key for ``alg``; header has ``kid``."""
        self._fresh()
        key = self._active.get(alg)
        if key is None:
            raise KeyRingError(f"no active {alg} signing key; run `essc init`")
        header = self._headers.get((key.kid, typ))
        if header is None:
            header = self._headers[(key.kid, typ)] = encode_header(alg, key.kid, typ)
        return sign_compact_with(header, claims, key.sign)

    def verify(
        self,
        token: str,
        *,
        typ: str | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        leeway: int = 0,
        require: tuple[str, ...] = ("exp", "iat"),
        check_expiry: bool = True,
    ) -> dict[str, Any]:
        """Claims of a JWT this ring signed; ``InvalidSignature`` for any failure."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidSignature("malformed") from None
        if typ is not None and str(header.get("typ", "")).lower() != typ:
            raise InvalidSignature("wrong typ")
        key = self._key_for(str(header.get("kid", "")))
        if key is None or header.get("alg") != key.alg:
            raise InvalidSignature("unknown kid or alg")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public,
                algorithms=[key.alg],
                audience=audience,
                issuer=issuer,
                options={
                    "require": list(require),
                    "verify_aud": audience is not None,
                    # Time is checked below against the injected clock, not the wall clock.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidSignature(type(exc).__name__) from None
        # An ID token hint may have expired (OIDC RP-Initiated Logout 1.0 4): ``check_expiry``.
        timed = claims if check_expiry else {k: v for k, v in claims.items() if k != "exp"}
        check_times(timed, self._clock(), leeway)
        return claims

    def verify_archived(self, token: str, *, typ: str) -> dict[str, Any]:
        """Claims of a JWS any key of this ring ever signed, retired long ago or not, without
        time checks: for records kept for years (the audit checkpoints), not for tokens."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidSignature("malformed") from None
        if str(header.get("typ", "")).lower() != typ:
            raise InvalidSignature("wrong typ")
        stored = next((k for k in self._store.signing_keys() if k.kid == header.get("kid")), None)
        if stored is None or header.get("alg") != stored.alg:
            raise InvalidSignature("unknown kid or alg")
        try:
            public = jwt.PyJWK({**stored.public_jwk, "alg": stored.alg}).key
            claims: dict[str, Any] = jwt.decode(
                token, public, algorithms=[stored.alg], options={"verify_exp": False}
            )
        except jwt.PyJWTError as exc:
            raise InvalidSignature(type(exc).__name__) from None
        return claims

    def _key_for(self, kid: str) -> _LoadedKey | None:
        self._fresh()
        key = self._keys.get(kid)
        if key is None and self._clock() - self._loaded_at > 1:
            self.reload()  # a key another process just created; at most once a second
            key = self._keys.get(kid)
        return key

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 JWK Set of every published public key (active, pending, recently retired)."""
        self._fresh()
        return self._jwks

    def public_keys(self) -> list[dict[str, Any]]:
        """Published keys with their state, for operators (``essc keys list``)."""
        self._fresh()
        return [
            {"kid": k.kid, "alg": k.alg, "state": k.state, "retired_at": k.retired_at}
            for k in self._keys.values()
        ]

    def rotate(self, alg: str) -> Rotation:
        """Promote the pending key (if any), retire the active one, publish a new pending key.

        Run twice on a fresh ring to get an active key; ``ensure`` does that for ``essc init``.
        """
        if alg not in SIGNING_ALGS:
            raise KeyRingError("unsupported signing algorithm")
        stored = [k for k in self._store.signing_keys() if k.alg == alg]
        pending = next((k for k in stored if k.state == PENDING), None)
        active = next((k for k in stored if k.state == ACTIVE), None)
        new_pending = self._new_key(alg)
        promote = pending.kid if pending else None
        retire = active.kid if active and promote else None
        self._store.save_rotation(
            new_pending=new_pending, promote=promote, retire=retire, at=int(self._clock())
        )
        self.reload()
        return Rotation(alg=alg, activated=promote, retired=retire, pending=new_pending.kid)

    def ensure(self, algs: tuple[str, ...] = SIGNING_ALGS) -> list[Rotation]:
        """Make sure every algorithm has an active and a pending key (idempotent)."""
        done = []
        for alg in algs:
            states = {k.state for k in self._store.signing_keys() if k.alg == alg}
            while not {ACTIVE, PENDING} <= states:
                done.append(self.rotate(alg))
                states = {k.state for k in self._store.signing_keys() if k.alg == alg}
        return done

    def _new_key(self, alg: str) -> StoredSigningKey:
        new = self._vault.create(alg)  # in the token when one is configured
        jwk = public_jwk(new.public)
        kid = thumbprint(jwk)
        return StoredSigningKey(
            kid=kid,
            alg=alg,
            state=PENDING,
            wrapped_private=new.seal(kid),
            public_jwk=jwk,
            created_at=int(self._clock()),
        )
