"""Who is calling a channel API: an OAuth access token, the channel's native signature, or its
client certificate.

Every way in gives one ``Channel`` (issue 3 section 2):

- ``Authorization: Bearer <token>`` from the client credentials grant (RFC 6749 4.4, RFC 6750):
  the token's ``client_id`` is the channel and its ``scope`` must hold ``essc.ecard``.
- the channel's own scheme (``channels.signing``): WeChat Pay API v3 and Alipay v3
  ``Authorization`` headers over the raw request, or the form-signed Alipay gateway ``RSA2`` and
  UnionPay 5.1.0 schemes over form fields (``from_form``). The merchant or app id the signature
  claims (``mchid``, ``app_id``, ``merId``) is the channel's ``client_id``; the scheme must be the
  one on its ``ChannelRow.api_auth_scheme``; keys come from its ``api_keys`` ({serial: PEM}, the
  serial ``""`` for an Alipay key registered without one, public-key mode), serials compared as
  numbers (``channels.signing.canonical_serial``).
- a client certificate (RFC 8705) forwarded by the TLS proxy, matched by x5t#S256 against
  ``ChannelRow.tls_client_thumbprint`` (``from_certificate``).

A second-tier channel never has more than its parent: its scopes are cut to the parent's and
its payment power needs the parent's (``idp.channel_auth.caller.Channel``).
Every refusal is a 401 problem naming a short reason, never request data. No Flask here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.kinds import ECARD_SCOPE
from channels.kinds import ChannelKind
from channels.signing import SCHEMES
from channels.signing import ChannelRequest
from channels.signing import KeyRing
from channels.signing import KnownKey
from channels.signing import NonceStore
from channels.signing import OwnKey
from channels.signing import ReplayGuard
from channels.signing import SignatureError
from channels.signing.alipay import AUTH_PREFIX as ALIPAY_V3_PREFIX
from channels.signing.alipay import parse_v3_authorization
from channels.signing.wechatpay import AUTH_SCHEME as WECHATPAY_SCHEME
from channels.signing.wechatpay import parse_authorization
from idp.channel_auth.caller import Channel
from idp.channel_auth.rfc8705_mtls import forwarded_thumbprint
from idp.errors import OAuthError
from idp.errors import Problem
from idp.store.channels import ChannelRow
from idp.store.channels import usable

ClaimsOf = Callable[[str], dict[str, Any]]


def unauthorized(reason: str, detail: str) -> Problem:
    return Problem(401, "unauthorized", "The channel is not authenticated", detail, reason=reason)


def forbidden(detail: str) -> Problem:
    return Problem(403, "insufficient-scope", "The channel may not use this API", detail)


#: ``api_auth_scheme`` values for each form-signed scheme (notifications accept both spellings).
FORM_SCHEMES = {
    "alipay-rsa2": frozenset({"alipay-rsa2"}),
    "unionpay-rsa": frozenset({"unionpay", "unionpay-rsa"}),
}
#: The form field naming the request path, and the one carrying the JSON request.
PATH_FIELD, DOCUMENT_FIELD = "essc_path", "biz_content"
MTLS_SCHEMES = ("tls_client_auth", "self_signed_tls_client_auth")


def _as_channel(row: ChannelRow, parent: Channel | None = None) -> Channel:
    scopes = frozenset(row.scopes) & parent.scopes if parent else frozenset(row.scopes)
    return Channel(row.client_id, ChannelKind(row.kind), scopes, parent)


def _channel(session: Session, client_id: str) -> tuple[ChannelRow, Channel]:
    row = session.get(ChannelRow, client_id) if 0 < len(client_id) <= 64 else None
    if row is None or not usable(session, row):  # a second tier stops with its parent
        raise unauthorized("unknown_channel", "No active channel has this id.")
    parent_row = session.get(ChannelRow, row.parent_client_id) if row.parent_client_id else None
    return row, _as_channel(row, _as_channel(parent_row) if parent_row is not None else None)


def _require_scope(channel: Channel, scopes: frozenset[str], scope: str = ECARD_SCOPE) -> Channel:
    if scope not in scopes:
        raise forbidden(f"The {scope} scope is needed.")
    return channel


def from_bearer(
    session: Session, token: str, claims_of: ClaimsOf, *, scope: str = ECARD_SCOPE
) -> Channel:
    """A client credentials access token: no cardholder grant, ``sub`` is the channel, and the
    token grants ``scope`` (the e-card API's unless the caller names another)."""
    try:
        claims = claims_of(token)
    except OAuthError:
        raise unauthorized("invalid_token", "The access token is invalid or expired.") from None
    client_id = str(claims.get("client_id", ""))
    if "gid" in claims or claims.get("sub") != client_id:
        raise unauthorized("invalid_token", "Use a client credentials token.")
    _, channel = _channel(session, client_id)
    granted = frozenset(str(claims.get("scope", "")).split())
    return _require_scope(channel, granted & channel.scopes, scope)


def claimed_scheme(request: ChannelRequest) -> tuple[str, str]:
    """(scheme name, claimed owner id) from the ``Authorization`` header, or ``malformed``."""
    header = request.header("Authorization") or ""
    if header.startswith(WECHATPAY_SCHEME + " "):
        return "wechatpay-v3", parse_authorization(header)["mchid"]
    if header.startswith(ALIPAY_V3_PREFIX):
        return "alipay-v3", parse_v3_authorization(header)[1]["app_id"]
    raise SignatureError("malformed")


def from_signature(
    session: Session, request: ChannelRequest, *, clock: Callable[[], float], nonces: NonceStore
) -> Channel:
    """Verify the channel's native signature with the keys registered for that channel."""
    try:
        name, owner = claimed_scheme(request)
        row, channel = _channel(session, owner)
        if row.api_auth_scheme != name:
            raise unauthorized("wrong_scheme", "This channel is registered for another scheme.")
        scheme = SCHEMES[name](  # type: ignore[call-arg]
            own=_verify_only_key(),
            peers=_peer_keys(row),
            guard=ReplayGuard(clock=clock, nonces=nonces),
        )
        scheme.verify_request(request)
    except SignatureError as exc:
        raise unauthorized(exc.reason, "The request signature was refused.") from None
    return _require_scope(channel, channel.scopes)


def claimed_form_scheme(params: Mapping[str, str]) -> tuple[str, str] | None:
    """(scheme name, claimed owner id) for a form-signed request, or None if it is not one."""
    if "sign" in params:
        return "alipay-rsa2", params.get("app_id", "")
    if "signature" in params:
        return "unionpay-rsa", params.get("merId", "")
    return None


def from_form(
    session: Session,
    request: ChannelRequest,
    path: str,
    *,
    clock: Callable[[], float],
    nonces: NonceStore,
) -> tuple[Channel, str]:
    """Verify a form-signed request; return the channel and its JSON request (``biz_content``).

    The form schemes sign fields, not the URL, so the signed ``essc_path`` must name the path
    the request was sent to: a signature for one e-card or operation cannot be moved to another.
    """
    claimed = claimed_form_scheme(request.params)
    try:
        if claimed is None:
            raise SignatureError("malformed")
        name, owner = claimed
        row, channel = _channel(session, owner)
        if row.api_auth_scheme not in FORM_SCHEMES[name]:
            raise unauthorized("wrong_scheme", "This channel is registered for another scheme.")
        scheme = SCHEMES[name](  # type: ignore[call-arg]
            own=_verify_only_key(),
            peers=_peer_keys(row),
            guard=ReplayGuard(clock=clock, nonces=nonces),
        )
        scheme.verify_request(request)
    except SignatureError as exc:
        raise unauthorized(exc.reason, "The request signature was refused.") from None
    if request.params.get(PATH_FIELD) != path:
        raise unauthorized("wrong_path", "The signed essc_path is not this request's path.")
    return _require_scope(channel, channel.scopes), request.params.get(DOCUMENT_FIELD, "")


def from_certificate(session: Session, forwarded: str, *, scope: str = ECARD_SCOPE) -> Channel:
    """RFC 8705: the channel whose registered thumbprint is the forwarded certificate's, which
    must hold ``scope`` (the e-card API's unless the caller names another)."""
    try:
        thumbprint = forwarded_thumbprint(forwarded)
    except ValueError:
        raise unauthorized("malformed", "The forwarded client certificate is unreadable.") from None
    query = select(ChannelRow.client_id).where(
        ChannelRow.tls_client_thumbprint == thumbprint,
        ChannelRow.api_auth_scheme.in_(MTLS_SCHEMES),
    )
    found = session.scalars(query.limit(2)).all()
    if len(found) != 1:  # two channels with one certificate is a registration error: trust neither
        raise unauthorized("unknown_key", "No channel is registered for this certificate.")
    _, channel = _channel(session, found[0])
    return _require_scope(channel, channel.scopes, scope)


def _peer_keys(row: ChannelRow) -> KeyRing:
    """The channel's registered public keys; an unusable registration trusts nothing.

    The stored serial ``""`` is a key without one (Alipay public-key mode): a request that
    names no ``app_cert_sn`` is checked against it.
    """
    keys = []
    for serial, pem in (row.api_keys or {}).items():
        try:
            public = serialization.load_pem_public_key(pem.encode("ascii"))
            if isinstance(public, rsa.RSAPublicKey):
                keys.append(KnownKey(row.client_id, public, serial or None))
        except (ValueError, TypeError, UnicodeEncodeError):
            continue  # a bad key is skipped: its serial becomes unknown_key
    try:
        return KeyRing(keys, numeric_serials=True)
    except ValueError:  # a malformed or doubled serial (never from registration)
        return KeyRing(())


@functools.cache
def _verify_only_key() -> OwnKey:
    """The schemes' constructors want a signing key; inbound verification never uses it.

    Generated once per process and never stored or published: essc-idp's real notification
    keys belong to the deliverer (``idp.notifications``).
    """
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return OwnKey("essc-idp-verify-only", private, "verify-only")
