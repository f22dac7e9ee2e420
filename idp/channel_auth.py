"""Who is calling a channel API: an OAuth access token, or the channel's native signature.

Two ways in, one ``Channel`` out (issue 3 section 2):

- ``Authorization: Bearer <token>`` from the client credentials grant (RFC 6749 4.4, RFC 6750):
  the token's ``client_id`` is the channel and its ``scope`` must hold ``essc.ecard``.
- the channel's own scheme (``channels.signing``): WeChat Pay API v3 and Alipay v3
  ``Authorization`` headers over the raw request. The merchant or app id the signature claims
  (``mchid``, ``app_id``) is the channel's ``client_id``; the scheme must be the one on its
  ``ChannelRow.api_auth_scheme``; keys come from its ``api_keys`` ({serial: PEM}).

Every refusal is a 401 problem naming a short reason, never request data. No Flask here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
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
from idp.channel_status import usable
from idp.ecards import Channel
from idp.errors import OAuthError
from idp.errors import Problem
from idp.store.channels import ChannelRow

ClaimsOf = Callable[[str], dict[str, Any]]


def unauthorized(reason: str, detail: str) -> Problem:
    return Problem(401, "unauthorized", "The channel is not authenticated", detail, reason=reason)


def forbidden(detail: str) -> Problem:
    return Problem(403, "insufficient-scope", "The channel may not use this API", detail)


def _channel(session: Session, client_id: str) -> tuple[ChannelRow, Channel]:
    row = session.get(ChannelRow, client_id) if 0 < len(client_id) <= 64 else None
    if row is None or not usable(session, row):  # a second tier stops with its parent
        raise unauthorized("unknown_channel", "No active channel has this id.")
    channel = Channel(row.client_id, ChannelKind(row.kind), frozenset(row.scopes))
    return row, channel


def _require_scope(channel: Channel, scopes: frozenset[str]) -> Channel:
    if ECARD_SCOPE not in scopes:
        raise forbidden("The essc.ecard scope is needed.")
    return channel


def from_bearer(session: Session, token: str, claims_of: ClaimsOf) -> Channel:
    """A client credentials access token: no cardholder grant, ``sub`` is the channel."""
    try:
        claims = claims_of(token)
    except OAuthError:
        raise unauthorized("invalid_token", "The access token is invalid or expired.") from None
    client_id = str(claims.get("client_id", ""))
    if "gid" in claims or claims.get("sub") != client_id:
        raise unauthorized("invalid_token", "Use a client credentials token.")
    _, channel = _channel(session, client_id)
    return _require_scope(channel, frozenset(str(claims.get("scope", "")).split()))


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


def _peer_keys(row: ChannelRow) -> KeyRing:
    """The channel's registered public keys; an unusable registration trusts nothing."""
    keys = []
    for serial, pem in (row.api_keys or {}).items():
        try:
            public = serialization.load_pem_public_key(pem.encode("ascii"))
            if isinstance(public, rsa.RSAPublicKey):
                keys.append(KnownKey(row.client_id, public, serial))
        except (ValueError, TypeError, UnicodeEncodeError):
            continue  # a bad key is skipped: its serial becomes unknown_key
    try:
        return KeyRing(keys)
    except ValueError:
        return KeyRing(())


@functools.cache
def _verify_only_key() -> OwnKey:
    """The schemes' constructors want a signing key; inbound verification never uses it.

    Generated once per process and never stored or published: essc-idp's real notification
    keys belong to the deliverer (``idp.notifications``).
    """
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return OwnKey("essc-idp-verify-only", private, "verify-only")
