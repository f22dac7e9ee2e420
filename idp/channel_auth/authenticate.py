"""Who is calling a channel API: an OAuth access token, the channel's native signature, or its
client certificate.

Every way in gives one ``Channel`` (issue 3 section 2):

- ``Authorization: Bearer <token>`` from the client credentials grant (RFC 6749 4.4, RFC 6750),
  or ``Authorization: DPoP <token>`` with its ``DPoP`` proof for a DPoP-bound one (RFC 9449 7.1):
  the token's ``client_id`` is the channel and its ``scope`` must hold ``essc.ecard``.
- the channel's own scheme, found in the registry (``channels.signing.registry``) by the shape
  of the request: WeChat Pay API v3 and Alipay v3 ``Authorization`` headers over the raw request,
  or the form-signed Alipay gateway ``RSA2`` and UnionPay 5.1.0 schemes over form fields
  (``from_form``). The merchant or app id the signature claims (``mchid``, ``app_id``,
  ``merId``) is the channel's ``client_id``; the scheme must be the one its
  ``ChannelRow.api_auth_scheme`` names; the scheme's ``Verifier`` gets only public keys, from its
  ``api_keys`` ({serial: PEM}, the
  serial ``""`` for an Alipay key registered without one, public-key mode), serials compared as
  numbers (``channels.signing.canonical_serial``).
- a client certificate (RFC 8705) forwarded by the TLS proxy, matched by x5t#S256 against
  ``ChannelRow.tls_client_thumbprint`` (``from_certificate``).

A second-tier channel never has more than its parent: its scopes are cut to the parent's and
its payment power needs the parent's (``idp.channel_auth.caller.Channel``).
Every refusal is a 401 problem naming a short reason, never request data. No Flask here.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from channels.kinds import ECARD_SCOPE
from channels.kinds import ChannelKind
from channels.signing import Adapter
from channels.signing import ChannelKeys
from channels.signing import ChannelRequest
from channels.signing import KnownKey
from channels.signing import NonceStore
from channels.signing import ReplayGuard
from channels.signing import SignatureError
from channels.signing import claimant
from channels.signing.adapter import Carrier
from idp.channel_auth.caller import Channel
from idp.channel_auth.rfc8705_mtls import forwarded_thumbprint
from idp.errors import DpopChallenge
from idp.errors import OAuthError
from idp.errors import Problem
from idp.oauth.rfc6750 import PresentedToken
from idp.oauth.rfc6750 import presented_token
from idp.store.channels import ChannelRow
from idp.store.channels import usable

#: The verified claims of a presented token, its DPoP binding checked against the request
#: (``idp.http.userinfo.checked_claims``); ``OAuthError`` if either fails.
ClaimsOf = Callable[[PresentedToken], dict[str, Any]]


def unauthorized(reason: str, detail: str) -> Problem:
    return Problem(401, "unauthorized", "The channel is not authenticated", detail, reason=reason)


def forbidden(detail: str) -> Problem:
    return Problem(403, "insufficient-scope", "The channel may not use this API", detail)


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
    session: Session, authorization: str, claims_of: ClaimsOf, *, scope: str = ECARD_SCOPE
) -> Channel | None:
    """A client credentials access token (no cardholder grant, ``sub`` is the channel) in the
    ``Authorization`` header, granting ``scope`` (the e-card API's unless the caller names
    another); None when the header names another scheme (a native signature)."""
    try:
        presented = presented_token(authorization)
        if presented is None:
            return None
        claims = claims_of(presented)
    except DpopChallenge as exc:  # RFC 9449 7.1: the DPoP challenge, and a nonce if one is due
        problem = unauthorized(exc.code, "The DPoP token or proof was refused.")
        problem.headers = exc.headers()
        raise problem from None
    except OAuthError:
        raise unauthorized("invalid_token", "The access token is invalid or expired.") from None
    client_id = str(claims.get("client_id", ""))
    if "gid" in claims or claims.get("sub") != client_id:
        raise unauthorized("invalid_token", "Use a client credentials token.")
    _, channel = _channel(session, client_id)
    granted = frozenset(str(claims.get("scope", "")).split())
    return _require_scope(channel, granted & channel.scopes, scope)


def _claimed(request: ChannelRequest, carrier: Carrier) -> tuple[Adapter, str]:
    """The scheme this request's signature is carried in, and the owner id it claims."""
    adapter = claimant(request, carrier)
    if adapter is None:
        raise SignatureError("malformed")
    return adapter, adapter.claimed_owner(request)


def _verify(
    session: Session, request: ChannelRequest, carrier: Carrier, guard: ReplayGuard
) -> Channel:
    """The channel the signature claims, if it is registered for this scheme and it verifies."""
    try:
        adapter, owner = _claimed(request, carrier)
        row, channel = _channel(session, owner)
        if not adapter.known_as(row.api_auth_scheme):
            raise unauthorized("wrong_scheme", "This channel is registered for another scheme.")
        adapter.verifier(_peer_keys(row), guard).verify_request(request)
    except SignatureError as exc:
        raise unauthorized(exc.reason, "The request signature was refused.") from None
    return channel


def from_signature(
    session: Session, request: ChannelRequest, *, clock: Callable[[], float], nonces: NonceStore
) -> Channel:
    """Verify the channel's native ``Authorization`` header with its registered keys."""
    channel = _verify(session, request, "header", ReplayGuard(clock=clock, nonces=nonces))
    return _require_scope(channel, channel.scopes)


def claimed_form_scheme(params: Mapping[str, str]) -> tuple[str, str] | None:
    """(scheme name, claimed owner id) for a form-signed request, or None if it is not one.

    The registry routes by a request's shape; a form's shape is its fields alone.
    """
    request = ChannelRequest("POST", "", params=params)
    adapter = claimant(request, "form")
    return None if adapter is None else (adapter.name, adapter.claimed_owner(request))


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
    channel = _verify(session, request, "form", ReplayGuard(clock=clock, nonces=nonces))
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


def _peer_keys(row: ChannelRow) -> ChannelKeys:
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
        return ChannelKeys(keys, numeric_serials=True)
    except ValueError:  # a malformed or doubled serial (never from registration)
        return ChannelKeys(())
