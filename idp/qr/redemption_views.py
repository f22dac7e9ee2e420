"""``POST /api/v1/qr/redemptions``: a merchant redeems a scanned code, once (issue 9, item 4).

Merchants (client kind ``merchant``) call with a client credentials access token
(``private_key_jwt``, mTLS or a client secret at ``/token``) or with their client certificate
(RFC 8705), and need the scope the endpoint names: ``essc.qr.redeem`` here, ``essc.pay`` for
payments (``idp.payments.views``). Refusals are RFC 7807 problem JSON, rendered as the e-card
API renders them. Documented in ``docs/payments.md`` and ``docs/payments-openapi.json``.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import g
from flask import request
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

from channels.kinds import QR_REDEEM_SCOPE
from channels.kinds import ChannelKind
from idp.channel_auth import authenticate as channel_auth
from idp.channel_auth.caller import Channel
from idp.ecards import views as ecards_views
from idp.errors import Problem
from idp.http.http import MalformedJson
from idp.http.http import oauth_json
from idp.http.http import provider
from idp.http.http import read_json
from idp.http.userinfo import checked_claims
from idp.http.userinfo import forwarded_certificate
from idp.provider import Provider
from idp.qr import redemption
from idp.qr.redemption import ScannedCode
from idp.qr.redemption import parse_redemption
from idp.qr.token import QrTokenError

bp = Blueprint("qr_redemption", __name__, url_prefix="/api/v1/qr")
bp.register_error_handler(Problem, ecards_views.on_problem)


def merchant_of(session: Session, p: Provider, scope: str) -> Channel:
    """The calling merchant: a Bearer client credentials token, else a forwarded client
    certificate; it must be of kind ``merchant`` and hold ``scope``."""
    header = request.headers.get("Authorization")
    if header is not None:
        bearer = channel_auth.from_bearer(session, header, checked_claims, scope=scope)
        if bearer is None:
            raise channel_auth.unauthorized("malformed", "Use a Bearer or DPoP token, or mTLS.")
        channel = bearer
    else:
        # Only the header a trusted proxy sent (ESSC_TLS_CLIENT_CERT_HEADER, _PROXIES).
        forwarded = forwarded_certificate()
        if forwarded is None:
            raise Problem(
                401, "unauthorized", "The channel is not authenticated", reason="no_credentials"
            )
        channel = channel_auth.from_certificate(session, forwarded, scope=scope)
    if channel.kind != ChannelKind.MERCHANT:
        raise Problem(
            403,
            "wrong-client-kind",
            "Only merchant clients may use this API",
            "Register the scanner's server as a client of kind merchant.",
        )
    ecards_views.limit_client(p, channel.client_id)
    return channel


def json_body() -> object:
    """The request's JSON (``application/json``, I-JSON), or an empty body as None."""
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise Problem(413, "body-too-large", "The request body is too large") from None
    if not raw:
        return None
    if request.mimetype != "application/json":
        raise Problem(415, "unsupported-media-type", "Send the body as application/json")
    try:
        return read_json(raw)
    except MalformedJson as exc:
        raise Problem(400, "malformed-json", "The request body is not JSON", exc.reason) from None


def open_code(session: Session, p: Provider, text: str, purpose: str) -> ScannedCode:
    """Verify a scanned code for ``purpose`` (``idp.qr``: signature, key, expiry, purpose, the
    e-card and card still usable). A refusal is 422 ``code-<reason>``: ``code-expired``,
    ``code-wrong-purpose``, ``code-revoked``, ... (the reasons of ``idp.qr.token.REASONS``)."""
    try:
        opened = p.qr.open(session, text, purpose)
    except QrTokenError as exc:
        raise Problem(
            422,
            "code-" + exc.reason.replace("_", "-"),
            "The QR code was refused",
            "Ask the holder to show a fresh code.",
            reason=exc.reason,
        ) from None
    return ScannedCode(opened.code_id, opened.token.purpose.value, opened.holder)


@bp.post("/redemptions")
def redeem() -> Response:
    p = provider()
    with p.db.transaction() as session:
        merchant = merchant_of(session, p, QR_REDEEM_SCOPE)
        asked = parse_redemption(json_body())
        code = open_code(session, p, asked.code, asked.purpose)
        answer = redemption.redeem(
            session, merchant, code, now=p.now(), request_id=g.get("request_id")
        )
    return oauth_json(answer, 201)
