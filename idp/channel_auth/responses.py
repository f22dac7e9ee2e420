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

from channels.signing import ALIPAY_V3
from channels.signing import WECHATPAY_V3
from channels.signing import Adapter
from channels.signing import ChannelRequest
from channels.signing import Notification
from channels.signing import OwnKey
from channels.signing import claimant
from channels.signing.scheme import Clock

log = logging.getLogger(__name__)

#: The header each header-carried scheme's SDK reads the request id from.
REQUEST_ID_HEADERS = {WECHATPAY_V3.name: "Request-ID", ALIPAY_V3.name: "alipay-trace-id"}


def response_scheme(authorization: str | None) -> Adapter | None:
    """The native scheme a response to this ``Authorization`` header is signed in, if any."""
    if authorization is None:
        return None
    return claimant(ChannelRequest("", "", {"Authorization": authorization}), "header")


def signature_headers(
    adapter: Adapter, own: OwnKey, body: bytes, *, clock: Clock
) -> Mapping[str, str]:
    """The headers that sign ``body`` in this scheme (its signer's ``sign_notification``)."""
    return adapter.signer(own, clock).sign_notification(Notification(body=body)).headers


def sign_response(
    response: Response,
    authorization: str | None,
    own_keys: Mapping[str, OwnKey],
    *,
    clock: Clock,
    request_id: str,
) -> Response:
    """Add the caller's scheme's signature headers over the exact response body bytes.

    Without the scheme's platform key (``essc init`` not run) the response goes out unsigned and
    the operator is told; the channel's SDK then refuses it, which is the closed failure.
    """
    adapter = response_scheme(authorization)
    if adapter is None or response.is_streamed:
        return response
    own = own_keys.get(adapter.name)
    if own is None:
        log.warning("no platform key for %s: response not signed [%s]", adapter.name, request_id)
        return response
    headers = signature_headers(adapter, own, response.get_data(), clock=clock)
    response.headers.update(dict(headers))
    id_header = REQUEST_ID_HEADERS.get(adapter.name)
    if id_header is not None:
        response.headers[id_header] = request_id
    return response
