"""Encrypted ID tokens (OIDC Core 10.2; RFC 7516 JWE, RFC 7518 4.6 and 5.3) with joserfc.

A client that registered ``id_token_encrypted_response_alg`` (``ECDH-ES+A256KW``) and ``_enc``
(``A256GCM``) gets its ID token signed first, then encrypted (OIDC Core 16.14: sign, then
encrypt, so the client can prove who issued it), with ``cty: JWT`` (RFC 7519 5.2: the payload
is a nested JWT). The key is the client's ``use: enc`` key from its registered ``jwks``
(``channels.encryption_keys``). No hand-written JWE: joserfc builds it. No Flask here.
"""

from __future__ import annotations

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from channels.client import Client
from channels.encryption_keys import ID_TOKEN_ENCRYPTION_ENCS
from channels.encryption_keys import encryption_key
from idp.errors import UnauthorizedClient


def encrypt_id_token(signed: str, client: Client) -> str:
    """``signed`` as it is for a client that asked for no encryption; otherwise a compact JWE
    to the client's key. Fails closed (``unauthorized_client``) when the key is gone or
    unusable: an ID token is never sent unencrypted to a client that asked for encryption."""
    alg = client.id_token_encrypted_response_alg
    if alg is None:
        return signed
    enc = client.id_token_encrypted_response_enc
    key = encryption_key(client.jwks, alg)
    if key is None or enc not in ID_TOKEN_ENCRYPTION_ENCS:
        raise UnauthorizedClient(
            "the client has no key to encrypt ID tokens to", detail="no use=enc key in jwks"
        )
    header = {"alg": alg, "enc": enc, "cty": "JWT"}
    if isinstance(key.get("kid"), str):
        header["kid"] = key["kid"]
    try:
        public = ECKey.import_key({k: v for k, v in key.items() if k != "key_ops"})
        return jwe.encrypt_compact(header, signed.encode("ascii"), public)
    except (JoseError, ValueError) as exc:
        raise UnauthorizedClient(
            "the client has no key to encrypt ID tokens to", detail=type(exc).__name__
        ) from None
