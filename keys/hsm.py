"""Signing keys inside a PKCS#11 token (OASIS PKCS#11 v2.40 / 3.0): an HSM, or SoftHSM2 in tests.

The token creates each key pair itself (``C_GenerateKeyPair``) with the private key
``CKA_SENSITIVE`` and not ``CKA_EXTRACTABLE``, so its value never leaves the token, and signs
inside it (``C_Sign``). The database keeps only ``pkcs11:`` and the pair's random ``CKA_ID``
(``keys.vault``); the public key is read back from the token's public object. Mechanisms, the
ones SoftHSM2 and common HSMs offer:

- ES256: SHA-256 here, then ``CKM_ECDSA`` on P-256, whose output is already R || S (RFC 7518 3.4);
- EdDSA: ``CKM_EDDSA`` on Ed25519 (PKCS#11 3.0; SoftHSM2 2.6 has it);
- PS256: ``CKM_SHA256_RSA_PKCS_PSS`` (MGF1-SHA-256, 32-byte salt, RFC 7518 3.5);
- RS256 and the notification schemes' SHA256withRSA: ``CKM_SHA256_RSA_PKCS``.

One logged-in session per process, opened on first use (after a server forks its workers,
since the ring loads lazily), its operations one at a time under a lock: a PKCS#11 session
runs one operation at a time.
"""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

import pkcs11
from asn1crypto.core import OctetString  # type: ignore[import-untyped]
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import rsa
from pkcs11 import MGF
from pkcs11 import Attribute
from pkcs11 import KeyType
from pkcs11 import Mechanism
from pkcs11 import ObjectClass
from pkcs11.util.ec import encode_ec_public_key
from pkcs11.util.ec import encode_named_curve_parameters

from keys.algorithms import RSA_BITS
from keys.jwk import PublicKey
from keys.vault import TOKEN_ID_BYTES
from keys.vault import TOKEN_REFERENCE_PREFIX
from keys.vault import NewKey
from keys.vault import Sign
from keys.vault import VaultError
from keys.vault import is_token_reference

_ED25519_OID = "1.3.101.112"  # RFC 8410 3: id-Ed25519, the curve's CKA_EC_PARAMS
_PSS = (Mechanism.SHA256, MGF.SHA256, 32)
_PRIVATE_TEMPLATE = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
    Attribute.DECRYPT: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}
_PUBLIC_TEMPLATE = {Attribute.TOKEN: True, Attribute.VERIFY: True, Attribute.ENCRYPT: False}


class TokenVault:
    """A ``KeyVault`` over one PKCS#11 token, found by its label, logged in with the user PIN."""

    def __init__(self, module: str, token_label: str, pin: str) -> None:
        self._module, self._label, self._pin = module, token_label, pin
        self._lock = threading.Lock()
        self._lib: Any = None
        self._session: Any = None
        self._pid = -1

    def _open(self) -> Any:
        """The process's logged-in session; a forked child starts the library afresh, as a
        PKCS#11 library's state does not survive ``fork`` (PKCS#11 v2.40 6.7.7)."""
        if self._session is None or self._pid != os.getpid():
            try:
                if self._lib is None:
                    self._lib = pkcs11.lib(self._module)
                elif self._pid != os.getpid():
                    self._lib.reinitialize()
                token = self._lib.get_token(token_label=self._label)
                try:
                    self._session = token.open(user_pin=self._pin, rw=True)
                except pkcs11.UserAlreadyLoggedIn:
                    # A login is the whole process's (PKCS#11 v2.40 5.6): another ring of this
                    # process logged in, and a new session shares it.
                    self._session = token.open(rw=True)
            except pkcs11.PKCS11Error as exc:
                raise VaultError(
                    f"cannot open the PKCS#11 token {self._label!r}: {type(exc).__name__}"
                ) from None
            self._pid = os.getpid()
        return self._session

    def create(self, alg: str) -> NewKey:
        key_id = os.urandom(TOKEN_ID_BYTES)
        attrs = {"id": key_id, "label": f"essc-idp {alg}", "store": True}
        templates = {"private_template": _PRIVATE_TEMPLATE, "public_template": _PUBLIC_TEMPLATE}
        with self._lock:
            session = self._open()
            try:
                if alg in ("ES256", "EdDSA"):
                    curve = encode_named_curve_parameters(
                        "secp256r1" if alg == "ES256" else _ED25519_OID
                    )
                    kind = KeyType.EC if alg == "ES256" else KeyType.EC_EDWARDS
                    params = session.create_domain_parameters(
                        kind, {Attribute.EC_PARAMS: curve}, local=True
                    )
                    public, _ = params.generate_keypair(**attrs, **templates)
                elif alg in ("PS256", "RS256"):
                    public, _ = session.generate_keypair(
                        KeyType.RSA, RSA_BITS, **attrs, **templates
                    )
                else:
                    raise VaultError("unsupported signing algorithm")
            except pkcs11.PKCS11Error as exc:
                raise VaultError(
                    f"the token cannot make an {alg} key: {type(exc).__name__}"
                ) from None
            found = _public_key(public)
        return NewKey(found, lambda _key_id: TOKEN_REFERENCE_PREFIX + key_id)

    def _object(self, stored: bytes, object_class: ObjectClass) -> Any:
        if not is_token_reference(stored):
            raise VaultError("not a PKCS#11 key reference")
        key_id = stored[len(TOKEN_REFERENCE_PREFIX) :]
        try:
            return self._open().get_key(object_class=object_class, id=key_id)
        except (pkcs11.NoSuchKey, pkcs11.MultipleObjectsReturned):
            raise VaultError(f"the token has no single key {key_id.hex()}") from None

    def signer(self, key_id: str, stored: bytes, alg: str) -> Sign:
        if alg not in ("ES256", "EdDSA", "PS256", "RS256"):
            raise VaultError("unsupported signing algorithm")
        found: dict[int, Any] = {}  # the private key's handle, per process

        def private() -> Any:
            if os.getpid() not in found:
                found.clear()
                found[os.getpid()] = self._object(stored, ObjectClass.PRIVATE_KEY)
            return found[os.getpid()]

        with self._lock:
            private()  # a missing key fails here, when the ring loads, not at the first token

        def sign(data: bytes) -> bytes:
            with self._lock:
                key = private()
                if alg == "ES256":
                    return bytes(key.sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA))
                if alg == "EdDSA":
                    return bytes(key.sign(data, mechanism=Mechanism.EDDSA))
                if alg == "PS256":
                    return bytes(
                        key.sign(
                            data, mechanism=Mechanism.SHA256_RSA_PKCS_PSS, mechanism_param=_PSS
                        )
                    )
                if alg == "RS256":
                    return bytes(key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS))
            raise VaultError("unsupported signing algorithm")

        return sign

    def public_key(self, key_id: str, stored: bytes) -> PublicKey:
        with self._lock:
            return _public_key(self._object(stored, ObjectClass.PUBLIC_KEY))


def _public_key(public: Any) -> PublicKey:
    """The token's public object as a pyca/cryptography public key."""
    kind = public[Attribute.KEY_TYPE]
    if kind == KeyType.EC:
        loaded = serialization.load_der_public_key(encode_ec_public_key(public))
        return loaded  # type: ignore[return-value]
    if kind == KeyType.EC_EDWARDS:
        point = OctetString.load(bytes(public[Attribute.EC_POINT])).native
        return ed25519.Ed25519PublicKey.from_public_bytes(point)
    if kind == KeyType.RSA:
        n = int.from_bytes(public[Attribute.MODULUS], "big")
        e = int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big")
        return rsa.RSAPublicNumbers(e, n).public_key()
    raise VaultError("unsupported key type in the token")
