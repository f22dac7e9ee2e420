"""Scan-to-pay: a merchant charges a payment code; the holder confirms large payments by PIN.

The operations the HTTP API (``idp.payments.views``) and the demo phone call, each in the
caller's one transaction, so a payment, the code it spent, the holder's daily spend, its audit
event and its outbox notification commit or roll back together:

- ``authorize`` (``idp.payments.authorization``): the hot path, precompiled Core statements;
- ``current``, ``capture``, ``reverse``, ``refund`` (``idp.payments.lifecycle``);
- ``holder_payments``, ``confirm`` (``idp.payments.holder``): the holder's side;
- ``statement`` (``idp.payments.statement``): a merchant's day, for reconciliation.

Refusals are RFC 7807 ``Problem``s and write nothing (except a wrong PIN's lockout count).
No Flask here.
"""

from __future__ import annotations

from idp.payments.answers import Answer
from idp.payments.answers import Policy
from idp.payments.answers import channel_json
from idp.payments.answers import payment_json
from idp.payments.authorization import authorize
from idp.payments.holder import PAGE
from idp.payments.holder import confirm
from idp.payments.holder import holder_payments
from idp.payments.lifecycle import capture
from idp.payments.lifecycle import current
from idp.payments.lifecycle import expire_if_due
from idp.payments.lifecycle import own_payment
from idp.payments.lifecycle import refund
from idp.payments.lifecycle import reverse
from idp.payments.statement import statement

__all__ = [
    "PAGE",
    "Answer",
    "Policy",
    "authorize",
    "capture",
    "channel_json",
    "confirm",
    "current",
    "expire_if_due",
    "holder_payments",
    "own_payment",
    "payment_json",
    "refund",
    "reverse",
    "statement",
]
