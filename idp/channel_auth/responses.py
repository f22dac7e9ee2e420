"""Channel API responses signed in the caller's native scheme, as the channels' gateways do.

WeChat Pay API v3 signs every response (wechatpay4_1: ``Wechatpay-Timestamp``, ``-Nonce``,
``-Signature``, ``-Serial``, ``-Signature-Type`` over ``timestamp\\nnonce\\nbody\\n``) and Alipay
Open API v3 too (opendocs.alipay.com/open-v3/054d0z: ``alipay-timestamp``, ``-nonce``,
``-signature``, ``-sn`` over the same three lines); their SDKs refuse an unsigned response by
default (wechatpayv3 ``Core.request``, alipay-sdk ``#curl``). essc-idp signs every e-card API
answer, success or problem, whose request carried one of these ``Authorization`` headers, with
the platform key of that scheme (the notification key, ``essc keys notification-cert``). The
scheme comes from the header's form, not from a verified signature, so a refusal (401) is signed
too. Spec: ``docs/channels/signing.md`` section 8.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Response

from channels.signing import AlipayV3
from channels.signing import KeyRing
from channels.signing import Notification
from channels.signing import OwnKey
from channels.signing import ReplayGuard
from channels.signing import WechatPayV3
from channels.signing.alipay import AUTH_PREFIX as ALIPAY_V3_PREFIX
from channels.signing.scheme import Clock
from channels.signing.scheme import NonceStore
from channels.signing.wechatpay import AUTH_SCHEME as WECHATPAY_SCHEME

log = logging.getLogger(__name__)

#: ``Authorization`` prefix -> the scheme whose platform key signs the response.
RESPONSE_SCHEMES = {WECHATPAY_SCHEME + " ": "wechatpay-v3", ALIPAY_V3_PREFIX: "alipay-v3"}


def response_scheme(authorization: str | None) -> str | None:
    """The native scheme a response to this ``Authorization`` header is signed in, if any."""
    for prefix, name in RESPONSE_SCHEMES.items():
        if (authorization or "").startswith(prefix):
            return name
    return None


def signature_headers(
    name: str, own: OwnKey, body: bytes, *, clock: Clock, nonces: NonceStore
) -> Mapping[str, str]:
    """The headers that sign ``body`` in scheme ``name`` (the schemes' ``sign_notification``)."""
    guard = ReplayGuard(clock=clock, nonces=nonces)  # signing reads only the clock
    scheme: WechatPayV3 | AlipayV3
    if name == "wechatpay-v3":
        scheme = WechatPayV3(own=own, peers=KeyRing(()), guard=guard)
    else:
        scheme = AlipayV3(own=own, peers=KeyRing(()), guard=guard)
    return scheme.sign_notification(Notification(body=body)).headers


def sign_response(
    response: Response,
    authorization: str | None,
    own_keys: Mapping[str, OwnKey],
    *,
    clock: Clock,
    nonces: NonceStore,
    request_id: str,
) -> Response:
    """Add the caller's scheme's signature headers over the exact response body bytes.

    Without the scheme's platform key (``essc init`` not run) the response goes out unsigned and
    the operator is told; the channel's SDK then refuses it, which is the closed failure.
    """
    name = response_scheme(authorization)
    if name is None or response.is_streamed:
        return response
    own = own_keys.get(name)
    if own is None:
        log.warning("no platform key for %s: response not signed [%s]", name, request_id)
        return response
    headers = signature_headers(name, own, response.get_data(), clock=clock, nonces=nonces)
    response.headers.update(dict(headers))
    if name == "wechatpay-v3":
        response.headers["Request-ID"] = request_id  # WeChat Pay's name for its request id
    else:
        response.headers["alipay-trace-id"] = request_id  # read by alipay-sdk as traceId
    return response
