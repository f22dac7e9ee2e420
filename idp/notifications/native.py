"""Notifications in the channels' own forms, signed by their schemes' ``Signer``.

- WeChat Pay API v3 (pay.weixin.qq.com wechatpay4_1, 4_2): a JSON callback envelope ``id``,
  ``create_time``, ``event_type``, ``resource_type``, ``summary``, ``resource``, signed in the
  ``Wechatpay-*`` headers; the resource optionally ``AEAD_AES_256_GCM`` encrypted.
- Alipay gateway (``alipay-rsa2``, rsaCheckV1 notify form): ``notify_id``, ``notify_time``,
  ``notify_type``, ``app_id``, ``biz_content``, ``sign_type=RSA2``, ``sign``.
- Alipay Open API v3 (``alipay-v3``): a JSON body with the v3 response-style ``alipay-*`` headers.
- UnionPay 全渠道 (``unionpay-rsa``): a ``version=5.1.0``/``signMethod=01`` form with ``certId``.

Field names chosen by essc-idp where the channel has no notification of this kind are marked
[U] in ``docs/notifications.md``. Every form carries the delivery id inside the signed content.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from channels.signing import ALIPAY_RSA2
from channels.signing import ALIPAY_V3
from channels.signing import UNIONPAY_RSA
from channels.signing import WECHATPAY_V3
from channels.signing import Notification
from channels.signing import ResourceCipher
from channels.signing import Signer
from idp.notifications.signers import FORM_MEDIA_TYPE
from idp.notifications.signers import JSON_MEDIA_TYPE
from idp.notifications.signers import Envelope
from idp.notifications.signers import Outgoing
from idp.notifications.signers import canonical_json
from idp.notifications.signers import china_time
from idp.notifications.signers import rfc3339_china

ALIPAY_TIME = "%Y-%m-%d %H:%M:%S"
UNIONPAY_TIME = "%Y%m%d%H%M%S"


def _signed_json(signer: Signer, document: dict[str, Any]) -> Outgoing:
    signed = signer.sign_notification(Notification(body=canonical_json(document)))
    return Outgoing(signed.body, {**signed.headers, "Content-Type": JSON_MEDIA_TYPE})


def _signed_form(signer: Signer, params: dict[str, str]) -> Outgoing:
    signed = signer.sign_notification(Notification(params=params))
    body = urlencode(sorted(signed.params.items()), encoding="utf-8").encode("ascii")
    return Outgoing(body, {**signed.headers, "Content-Type": FORM_MEDIA_TYPE})


class WechatPayCallback:
    """wechatpay4_1/4_2: the callback envelope; ``resource`` encrypted when a cipher is set.

    Headers: the five ``Wechatpay-*`` ones (``Wechatpay-Signature-Type`` included, which the SDKs
    require) and ``Request-ID``. The encrypted resource's ``associated_data`` is the delivery id,
    so a resource cannot be moved into another notification's envelope without failing the tag.
    """

    scheme = WECHATPAY_V3.name

    def __init__(self, signer: Signer, cipher: ResourceCipher | None = None) -> None:
        self._signer = signer
        self._cipher = cipher

    def _resource(self, envelope: Envelope) -> tuple[str, dict[str, Any]]:
        if self._cipher is None:
            return "plain-resource", dict(envelope.payload)
        sealed = self._cipher.encrypt(
            canonical_json(dict(envelope.payload)),
            associated_data=envelope.delivery_id,
            original_type=envelope.event.split(".", 1)[0],
        )
        return "encrypt-resource", dict(sealed)

    def sign(self, envelope: Envelope, now: int) -> Outgoing:
        resource_type, resource = self._resource(envelope)
        document = {
            "id": envelope.delivery_id,
            "create_time": rfc3339_china(envelope.created_at),
            "event_type": envelope.event.upper(),
            "resource_type": resource_type,
            "summary": envelope.event,
            "resource": resource,
        }
        signed = _signed_json(self._signer, document)
        # WeChat Pay names every message it sends with a ``Request-ID``; ours is the delivery id.
        return Outgoing(signed.body, {**signed.headers, "Request-ID": envelope.delivery_id})


class AlipayGatewayNotify:
    """The gateway's asynchronous-notification form (``rsaCheckV1``: sign over all but sign)."""

    scheme = ALIPAY_RSA2.name

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    def sign(self, envelope: Envelope, now: int) -> Outgoing:
        params = {
            "notify_id": envelope.delivery_id,
            "notify_time": china_time(now, ALIPAY_TIME),
            "notify_type": envelope.event,
            "app_id": envelope.client_id,
            "charset": "utf-8",
            "version": "1.0",
            "biz_content": canonical_json(dict(envelope.payload)).decode(),
        }
        return _signed_form(self._signer, params)


class AlipayV3Notify:
    """Open API v3: JSON body, ``alipay-timestamp``/``-nonce``/``-signature`` headers."""

    scheme = ALIPAY_V3.name

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    def sign(self, envelope: Envelope, now: int) -> Outgoing:
        document = {
            "notify_id": envelope.delivery_id,
            "notify_time": china_time(now, ALIPAY_TIME),
            "notify_type": envelope.event,
            "biz_content": dict(envelope.payload),
        }
        return _signed_json(self._signer, document)


class UnionPayBackNotify:
    """A back-notification form signed like UnionPay's (``AcpService.sign``)."""

    scheme = UNIONPAY_RSA.name

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    def sign(self, envelope: Envelope, now: int) -> Outgoing:
        params = {
            "encoding": "UTF-8",
            "merId": envelope.client_id,
            "txnTime": china_time(now, UNIONPAY_TIME),
            "notifyId": envelope.delivery_id,
            "notifyType": envelope.event,
            "bizContent": canonical_json(dict(envelope.payload)).decode(),
        }
        return _signed_form(self._signer, params)
