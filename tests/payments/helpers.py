"""Helpers for the payment and redemption tests: a merchant, a payer with payment codes, calls."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from idp.qr.token import Purpose
from tests.ecard_helpers import bearer
from tests.qr.helpers import codes
from tests.qr.helpers import issue_ecard
from tests.support import register

MERCHANT_SCOPE = "essc.qr.redeem essc.pay"
_keys = itertools.count(1)


def add_merchant(provider: Any, scope: str = MERCHANT_SCOPE) -> Any:
    return register(
        provider,
        kind="merchant",
        grant_types=("client_credentials",),
        redirect_uris=(),
        scope=scope,
    )


@dataclass
class Payer:
    """A cardholder's level 2 e-card in a bank channel, and that channel's token."""

    provider: Any
    channel: Any
    sign_no: str
    channel_headers: dict[str, str]

    def code(self, purpose: Purpose = Purpose.PAYMENT) -> str:
        (text,) = codes(self.provider, self.sign_no, purpose)
        return text


def payer(provider: Any, web: Any, cardholder: Any, level: int = 2) -> Payer:
    channel, sign_no = issue_ecard(provider, cardholder, level=level)
    return Payer(provider, channel, sign_no, bearer(web, channel))


def new_key() -> str:
    return f"idem-{next(_keys):06d}-test"


def pay_body(code: str, amount: Any = 1_000, **changes: Any) -> dict[str, Any]:
    body = {
        "code": code,
        "amount_fen": amount,
        "currency": "CNY",
        "merchant_order_id": "order-0001",
    }
    body.update(changes)
    return body


def authorize(web: Any, headers: dict[str, str], body: Any, key: str | None = None) -> Any:
    extra = {"Idempotency-Key": f'"{key or new_key()}"'}
    return web.post("/api/v1/payments", json=body, headers={**headers, **extra})


def refund(web: Any, headers: dict[str, str], payment_id: str, amount: Any, key: str) -> Any:
    return web.post(
        f"/api/v1/payments/{payment_id}/refunds",
        json={"amount_fen": amount},
        headers={**headers, "Idempotency-Key": key},
    )


def merchant_headers(web: Any, merchant: Any, scope: str = "essc.pay") -> dict[str, str]:
    return bearer(web, merchant, scope)
