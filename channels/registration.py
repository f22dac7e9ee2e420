"""Validating client metadata before a channel is stored (RFC 7591 2, OIDC Registration 2).

Pure: returns a ``ClientMetadata`` or raises ``InvalidClientMetadata`` naming the field.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from channels.client import AUTH_METHODS
from channels.client import GRANT_TYPES
from channels.client import MTLS_AUTH_METHODS
from channels.client import SUBJECT_TYPES
from channels.client import TOKEN_EXCHANGE
from channels.embedding import InvalidEmbedOrigin
from channels.embedding import check_embed_origins
from channels.encryption_keys import ID_TOKEN_ENCRYPTION_ALGS
from channels.encryption_keys import ID_TOKEN_ENCRYPTION_ENCS
from channels.encryption_keys import check_encryption_jwk
from channels.encryption_keys import encryption_key
from channels.encryption_keys import is_encryption_key
from channels.kinds import ALLOWED_SCOPES
from channels.kinds import ECARD_SCOPE
from channels.kinds import FAPI2_KINDS
from channels.kinds import ChannelKind

SIGNING_ALGS = ("ES256", "EdDSA", "PS256", "RS256")
MAX_REDIRECT_URIS = 20
MAX_URI_LENGTH = 512
MAX_JWKS_KEYS = 10
MIN_RSA_BITS = 2048
#: The ``private_key_jwt`` algorithms (``idp.oauth.client_auth.ASSERTION_ALGS``) by key type and
#: curve (RFC 7518 3.1, RFC 8037 3.1); the first is the one a key without ``alg`` is used with.
JWK_ALGS: dict[str, dict[str, tuple[str, ...]]] = {
    "EC": {"P-256": ("ES256",)},
    "RSA": {"": ("RS256", "PS256")},
    "OKP": {"Ed25519": ("EdDSA",)},
}
PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
JWK_STRING_MEMBERS = ("kty", "crv", "x", "y", "n", "e", "use", "alg", "kid")
JWK_BINARY_MEMBERS = ("x", "y", "n", "e")
#: RFC 7515 2: base64url without padding; a modulus of 8192 bits is 1366 characters.
_B64URL = re.compile(r"[A-Za-z0-9_-]{1,1400}")


class InvalidClientMetadata(ValueError):
    """RFC 7591 3.2.2 ``invalid_client_metadata`` / ``invalid_redirect_uri``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class ClientMetadata:
    name: str
    kind: ChannelKind
    grant_types: tuple[str, ...]
    token_endpoint_auth_method: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    jwks: dict[str, Any] | None
    jwks_uri: str | None
    sector_identifier: str
    subject_type: str
    id_token_signed_response_alg: str
    rotate_refresh_tokens: bool
    require_pushed_authorization_requests: bool = False
    post_logout_redirect_uris: tuple[str, ...] = ()
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    dpop_bound_access_tokens: bool = False
    id_token_encrypted_response_alg: str | None = None
    id_token_encrypted_response_enc: str | None = None
    tls_client_auth_subject_dn: str | None = None
    tls_client_certificate_bound_access_tokens: bool = False
    #: RFC 9101 10.5 client metadata.
    require_signed_request_object: bool = False
    #: ``essc_fapi2_security_profile``: held to ``idp.oauth.fapi2`` when stored.
    fapi2_security_profile: bool = False
    #: ``essc_embed_origins``: who may frame this client's sign-in pages (channels.embedding).
    embed_origins: tuple[str, ...] = ()


@dataclass(frozen=True)
class SecurityOptions:
    """Client metadata of OIDC Registration 2 (ID token encryption) and RFC 8705 (mutual TLS),
    as sent; ``validate_metadata`` checks them together with the keys."""

    id_token_encrypted_response_alg: str | None = None
    id_token_encrypted_response_enc: str | None = None
    tls_client_auth_subject_dn: str | None = None
    tls_client_certificate_bound_access_tokens: bool = False


def validate_metadata(
    *,
    name: str,
    kind: str,
    grant_types: list[str],
    auth_method: str,
    redirect_uris: list[str],
    scopes: list[str],
    jwks: dict[str, Any] | None = None,
    jwks_uri: str | None = None,
    sector_identifier: str | None = None,
    subject_type: str = "pairwise",
    id_token_alg: str = "ES256",
    rotate_refresh_tokens: bool = True,
    require_par: bool = False,
    post_logout_redirect_uris: list[str] | None = None,
    backchannel_logout_uri: str | None = None,
    backchannel_logout_session_required: bool = False,
    allow_http_loopback: bool = True,
    dpop_bound: bool = False,
    security: SecurityOptions = SecurityOptions(),
    require_signed_request_object: bool = False,
    fapi2: bool | None = None,
    embed_origins: list[str] | None = None,
) -> ClientMetadata:
    """The metadata to store. ``fapi2`` None: the kind's default, on for the kinds that move
    money (``channels.kinds.FAPI2_KINDS``, docs/security-profile.md); only an operator's or
    the caller's explicit ``False`` takes such a channel off the profile."""
    if not name.strip() or len(name) > 128:
        raise InvalidClientMetadata("invalid_client_metadata", "client_name is required (<=128)")
    try:
        channel_kind = ChannelKind(kind)
    except ValueError:
        raise InvalidClientMetadata("invalid_client_metadata", "unknown channel kind") from None
    grants = tuple(dict.fromkeys(grant_types))
    if not grants or any(g not in GRANT_TYPES for g in grants):
        raise InvalidClientMetadata("invalid_client_metadata", "unsupported grant_types")
    if "refresh_token" in grants and "authorization_code" not in grants:
        raise InvalidClientMetadata(
            "invalid_client_metadata", "refresh_token needs authorization_code"
        )
    if TOKEN_EXCHANGE in grants and (
        "authorization_code" not in grants or ECARD_SCOPE not in ALLOWED_SCOPES[channel_kind]
    ):
        # The agent's own token comes from the code flow in a channel that holds e-cards.
        raise InvalidClientMetadata(
            "invalid_client_metadata", "token exchange is for e-card channels with code flow"
        )
    if auth_method not in AUTH_METHODS + MTLS_AUTH_METHODS:
        raise InvalidClientMetadata(
            "invalid_client_metadata", "unsupported token_endpoint_auth_method"
        )
    if auth_method == "private_key_jwt" and not (jwks or jwks_uri):
        raise InvalidClientMetadata(
            "invalid_client_metadata", "private_key_jwt needs jwks or jwks_uri"
        )
    if jwks is not None:
        _check_jwks(jwks)
        if auth_method == "private_key_jwt" and all(is_encryption_key(k) for k in jwks["keys"]):
            # Encryption keys (use=enc, for ID tokens) cannot verify a client assertion.
            raise InvalidClientMetadata(
                "invalid_client_metadata", "private_key_jwt needs a signing key in jwks"
            )
    _check_mtls(auth_method, jwks, security)
    _check_id_token_encryption(jwks, security)
    if jwks_uri is not None:
        _check_https_uri(jwks_uri, "jwks_uri", allow_http_loopback)
    uris = tuple(dict.fromkeys(redirect_uris))
    uses_code = "authorization_code" in grants
    if uses_code and not uris:
        raise InvalidClientMetadata(
            "invalid_redirect_uri", "authorization_code needs a redirect_uri"
        )
    if len(uris) > MAX_REDIRECT_URIS:
        raise InvalidClientMetadata("invalid_redirect_uri", "too many redirect_uris")
    for uri in uris:
        _check_redirect_uri(uri, allow_http_loopback)
    # OIDC RP-Initiated Logout 1.0 3.1: held to the same rules as redirect_uris.
    logout_uris = tuple(dict.fromkeys(post_logout_redirect_uris or []))
    if len(logout_uris) > MAX_REDIRECT_URIS:
        raise InvalidClientMetadata("invalid_redirect_uri", "too many post_logout_redirect_uris")
    for uri in logout_uris:
        _check_redirect_uri(uri, allow_http_loopback)
    # OIDC Back-Channel Logout 1.0 2.2: absolute, no fragment; https (http on loopback in dev).
    if backchannel_logout_uri is not None:
        _check_https_uri(backchannel_logout_uri, "backchannel_logout_uri", allow_http_loopback)
    requested = tuple(dict.fromkeys(" ".join(scopes).split()))
    allowed = ALLOWED_SCOPES[channel_kind]
    if any(s not in allowed for s in requested):
        raise InvalidClientMetadata("invalid_client_metadata", "scope not allowed for this kind")
    if uses_code and "openid" not in requested:
        raise InvalidClientMetadata(
            "invalid_client_metadata", "authorization_code clients need openid"
        )
    if subject_type not in SUBJECT_TYPES:
        raise InvalidClientMetadata(
            "invalid_client_metadata", "subject_type must be pairwise or public"
        )
    if id_token_alg not in SIGNING_ALGS:
        raise InvalidClientMetadata(
            "invalid_client_metadata", "unsupported id_token_signed_response_alg"
        )
    try:
        embedders = check_embed_origins(
            embed_origins or [], allow_http_loopback=allow_http_loopback
        )
    except InvalidEmbedOrigin as exc:
        raise InvalidClientMetadata("invalid_client_metadata", str(exc)) from None
    return ClientMetadata(
        name=name.strip(),
        kind=channel_kind,
        grant_types=grants,
        token_endpoint_auth_method=auth_method,
        redirect_uris=uris,
        scopes=requested,
        jwks=jwks,
        jwks_uri=jwks_uri,
        sector_identifier=_sector_identifier(sector_identifier, uris, subject_type),
        subject_type=subject_type,
        id_token_signed_response_alg=id_token_alg,
        rotate_refresh_tokens=rotate_refresh_tokens,
        require_pushed_authorization_requests=require_par,
        post_logout_redirect_uris=logout_uris,
        backchannel_logout_uri=backchannel_logout_uri,
        backchannel_logout_session_required=backchannel_logout_session_required,
        dpop_bound_access_tokens=dpop_bound,
        id_token_encrypted_response_alg=security.id_token_encrypted_response_alg,
        id_token_encrypted_response_enc=security.id_token_encrypted_response_enc,
        tls_client_auth_subject_dn=security.tls_client_auth_subject_dn,
        tls_client_certificate_bound_access_tokens=(
            security.tls_client_certificate_bound_access_tokens
        ),
        require_signed_request_object=require_signed_request_object,
        fapi2_security_profile=channel_kind in FAPI2_KINDS if fapi2 is None else fapi2,
        embed_origins=embedders,
    )


def _check_id_token_encryption(jwks: dict[str, Any] | None, security: SecurityOptions) -> None:
    """OIDC Registration 2: ``_enc`` only with ``_alg``; without ``_enc`` the default would be
    ``A128CBC-HS256``, which is not offered, so both are named; the client's ``jwks`` holds a
    key to encrypt to (a ``jwks_uri`` alone is refused: its keys could not be checked now)."""
    alg = security.id_token_encrypted_response_alg
    enc = security.id_token_encrypted_response_enc
    if alg is None:
        if enc is not None:
            raise _bad("id_token_encrypted_response_enc needs id_token_encrypted_response_alg")
        return
    if alg not in ID_TOKEN_ENCRYPTION_ALGS:
        raise _bad("unsupported id_token_encrypted_response_alg")
    if enc not in ID_TOKEN_ENCRYPTION_ENCS:
        raise _bad("id_token_encrypted_response_enc must be A256GCM")
    if encryption_key(jwks, alg) is None:
        raise _bad("id token encryption needs a use=enc EC key in jwks")


def _check_mtls(auth_method: str, jwks: dict[str, Any] | None, security: SecurityOptions) -> None:
    """RFC 8705 2.1.2: ``tls_client_auth`` names the certificate's subject DN (RFC 4514);
    2.2.2: ``self_signed_tls_client_auth`` registers its certificates as ``x5c`` in ``jwks``."""
    dn = security.tls_client_auth_subject_dn
    if auth_method == "tls_client_auth":
        if dn is None or not check_subject_dn(dn):
            raise _bad("tls_client_auth needs a tls_client_auth_subject_dn (RFC 4514)")
    elif dn is not None:
        raise _bad("tls_client_auth_subject_dn is only for tls_client_auth")
    if auth_method == "self_signed_tls_client_auth" and not registered_certificates(jwks):
        raise _bad("self_signed_tls_client_auth needs a certificate (x5c) in jwks")


def registered_certificates(jwks: dict[str, Any] | None) -> list[bytes]:
    """RFC 8705 2.2.2: the DER certificates a self-signed client registered, the first of
    each key's ``x5c`` (RFC 7517 4.7: standard base64 DER); unreadable ones are left out."""
    from cryptography import x509

    found = []
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    for key in keys if isinstance(keys, list) else []:
        chain = key.get("x5c") if isinstance(key, dict) else None
        if not isinstance(chain, list) or not chain or not isinstance(chain[0], str):
            continue
        try:
            der = base64.b64decode(chain[0], validate=True)
            x509.load_der_x509_certificate(der)
        except (binascii.Error, ValueError):
            continue
        found.append(der)
    return found


def check_subject_dn(dn: str) -> bool:
    """An RFC 4514 distinguished name pyca/cryptography can read, of sane length."""
    from cryptography import x509

    if not 0 < len(dn) <= 512 or not dn.isprintable():
        return False
    try:
        return len(x509.Name.from_rfc4514_string(dn).rdns) > 0
    except ValueError:
        return False


def _bad(description: str) -> InvalidClientMetadata:
    return InvalidClientMetadata("invalid_client_metadata", description)


def _check_redirect_uri(uri: str, allow_http_loopback: bool) -> None:
    if len(uri) > MAX_URI_LENGTH or not uri.isascii() or any(c in uri for c in ' "<>\\'):
        raise InvalidClientMetadata("invalid_redirect_uri", "redirect_uri is malformed")
    parts = urlsplit(uri)
    if parts.fragment or "#" in uri:
        raise InvalidClientMetadata("invalid_redirect_uri", "redirect_uri must not have a fragment")
    if parts.username or parts.password or "@" in parts.netloc:
        raise InvalidClientMetadata("invalid_redirect_uri", "redirect_uri must not have userinfo")
    if parts.scheme == "https" and parts.hostname:
        return
    if (
        parts.scheme == "http"
        and allow_http_loopback
        and parts.hostname in ("127.0.0.1", "localhost", "::1")
    ):
        return
    raise InvalidClientMetadata(
        "invalid_redirect_uri", "redirect_uri must be https (http only on loopback)"
    )


def check_https_uri(uri: str, field: str, allow_http_loopback: bool) -> None:
    """``invalid_client_metadata`` unless ``uri`` is an https URI (http on loopback if allowed)."""
    _check_https_uri(uri, field, allow_http_loopback)


def _check_https_uri(uri: str, field: str, allow_http_loopback: bool) -> None:
    try:
        _check_redirect_uri(uri, allow_http_loopback)
    except InvalidClientMetadata:
        raise InvalidClientMetadata(
            "invalid_client_metadata", f"{field} must be an https URI"
        ) from None


def _check_jwks(jwks: dict[str, Any]) -> None:
    """RFC 7517 5: 1 to 10 public signing keys, each parsed as the key it claims to be."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys or len(keys) > MAX_JWKS_KEYS:
        raise InvalidClientMetadata("invalid_client_metadata", "jwks must hold 1 to 10 keys")
    for key in keys:
        if is_encryption_key(key):
            try:
                check_encryption_jwk(key)
            except ValueError as exc:
                raise _bad_jwk(str(exc)) from None
        else:
            check_jwk(key)
    kids = [key["kid"] for key in keys if "kid" in key]
    if len(set(kids)) != len(kids):
        raise InvalidClientMetadata("invalid_client_metadata", "jwks repeats a kid")


def check_jwk(key: object) -> None:
    """One client signing key (RFC 7517 4, RFC 7518 6, RFC 8037 2), refused unless usable.

    Every member has its RFC type; ``use`` is ``sig`` and ``key_ops`` only ``verify``; ``alg``,
    when given, is one ``private_key_jwt`` accepts and fits the key type and curve; coordinates
    are strict base64url of the curve's size and the point is on the curve (pyca/cryptography
    checks it when PyJWT builds the key); RSA moduli have at least 2048 bits.
    """
    if not isinstance(key, dict) or key.get("kty") not in JWK_ALGS:
        raise _bad_jwk("jwks has an unsupported key")
    if any(private in key for private in PRIVATE_JWK_MEMBERS):
        raise _bad_jwk("jwks must hold public keys only")
    if any(not isinstance(key.get(name, ""), str) for name in JWK_STRING_MEMBERS):
        raise _bad_jwk("a jwks member has the wrong type")
    if any(not _B64URL.fullmatch(key.get(name, "A")) for name in JWK_BINARY_MEMBERS):
        raise _bad_jwk("a jwks member is not base64url")
    if key.get("use", "sig") != "sig" or not _verify_only(key.get("key_ops", ["verify"])):
        raise _bad_jwk("jwks keys must be signature keys")
    if len(key.get("kid", "")) > 128 or not _printable_ascii(key.get("kid", "")):
        raise _bad_jwk("a jwks kid is malformed")
    allowed = JWK_ALGS[key["kty"]].get(key.get("crv", ""), ())
    alg = key.get("alg", allowed[0] if allowed else "")
    if alg not in allowed:
        raise _bad_jwk("a jwks key's alg or crv is not supported")
    try:
        parsed = jwt.PyJWK(key, algorithm=alg).key
    except (
        jwt.PyJWTError,
        ValueError,
        TypeError,
        KeyError,
    ):  # off the curve, wrong size, bad exponent
        raise _bad_jwk("a jwks key is not a valid public key") from None
    if isinstance(parsed, rsa.RSAPublicKey) and parsed.key_size < MIN_RSA_BITS:
        raise _bad_jwk("a jwks RSA key is shorter than 2048 bits")


def _bad_jwk(description: str) -> InvalidClientMetadata:
    return InvalidClientMetadata("invalid_client_metadata", description)


def _verify_only(ops: object) -> bool:
    return isinstance(ops, list) and ops == ["verify"]


def _printable_ascii(value: str) -> bool:
    return all(0x20 <= ord(c) <= 0x7E for c in value)


def _sector_identifier(explicit: str | None, uris: tuple[str, ...], subject_type: str) -> str:
    """OIDC Core 8.1: the host of the redirect URIs, unless the operator names the sector."""
    if explicit:
        return explicit
    hosts = {urlsplit(u).hostname or "" for u in uris}
    if len(hosts) == 1:
        return hosts.pop()
    if subject_type == "pairwise" and len(hosts) > 1:
        raise InvalidClientMetadata(
            "invalid_client_metadata", "redirect_uris on several hosts need a sector_identifier"
        )
    return ""
