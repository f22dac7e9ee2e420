"""On PostgreSQL, a payment within the no-PIN limit is one statement: spend, charge, write.

Three data-modifying CTEs (PostgreSQL 7.8.4) in one ``INSERT``, one round trip instead of
three, with the guarantees of the step-by-step path (``idp.payments.authorization``) intact:

- ``spent``: ``INSERT INTO qr_redemptions ... ON CONFLICT (code_id) DO NOTHING RETURNING``;
  a code spent before (or by a concurrent twin, whose commit this one waits for) returns no
  row, and then nothing else is written: the statement returns no row;
- ``charged``: the daily limit's conditional upsert (``idp.payments.limits``), run only if
  the code was spent and the amount fits the limit at all; PostgreSQL serialises it on the
  counter row and re-checks its ``WHERE`` on the committed value, so the sum never passes;
- the ``payments`` row itself, ``authorized`` if ``charged`` returned a row, else
  ``declined`` (``daily_limit_exceeded``), with the first answer of that outcome (both are
  built before; the statement picks one). A twin holding the same key with another code
  fails on the unique (merchant, key) index, as the step-by-step insert does.

The payment's ``code_id`` references ``qr_redemptions``: foreign keys are checked at the end
of the statement, when ``spent``'s row exists. SQLite has no data-modifying CTEs; it, and the
payments above the no-PIN limit (pending a PIN), take the step-by-step path.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import String
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import exists
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from idp.payments import states
from idp.qr.redemption_sql import table_of
from idp.store.payments import Payment
from idp.store.payments import PaymentDailySpend
from idp.store.payments import QrRedemption

_redemption = table_of(QrRedemption)
_spend = table_of(PaymentDailySpend)
_payment = table_of(Payment)

_amount = bindparam("amount_fen", type_=BigInteger)
_limit = bindparam("limit", type_=BigInteger)

_spent = (
    pg_insert(_redemption)
    .values(
        code_id=bindparam("code_id"),
        purpose=bindparam("purpose"),
        client_id=bindparam("client_id"),
        sign_no=bindparam("sign_no"),
        reference=bindparam("id"),
        redeemed_at=bindparam("created_at"),
    )
    .on_conflict_do_nothing(index_elements=["code_id"])
    .returning(_redemption.c.code_id)
    .cte("spent")
)

_charged = (
    pg_insert(_spend)
    .from_select(
        ["sign_no", "day", "spent_fen"],
        select(
            bindparam("sign_no", type_=String),
            bindparam("day", type_=String),
            _amount,
        )
        .select_from(_spent)
        .where(_amount <= _limit),
    )
    .on_conflict_do_update(
        index_elements=["sign_no", "day"],
        set_={"spent_fen": _spend.c.spent_fen + _amount},
        where=_spend.c.spent_fen + _amount <= _limit,
    )
    .returning(_spend.c.spent_fen)
    .cte("charged")
)

_ok = exists(select(_charged.c.spent_fen))


def _pick(if_charged: str, otherwise: str, type_: Any = String) -> Any:
    return case((_ok, bindparam(if_charged, type_=type_)), else_=bindparam(otherwise, type_=type_))


#: The columns bound as they are, whatever the outcome.
SAME = (
    "id",
    "client_id",
    "idempotency_key",
    "request_hash",
    "merchant_order_id",
    "description",
    "code_id",
    "sign_no",
    "amount_fen",
    "currency",
    "created_at",
    "updated_at",
)

_OUTCOME = (
    "state",
    "decline_reason",
    "spend_day",
    "authorized_at",
    "first_answer",
    "captured_fen",
    "refunded_fen",
)

#: Binds the payment's columns (``SAME``), ``day``, ``limit``, ``purpose`` and both outcomes'
#: first answers, ``answer_authorized`` and ``answer_declined``. Returns the row's ``state``,
#: or no row if the code was spent before.
CHARGE = (
    pg_insert(_payment)
    .from_select(
        [*SAME, *_OUTCOME],
        select(
            *(bindparam(name, type_=_payment.c[name].type) for name in SAME),
            case((_ok, literal(states.AUTHORIZED)), else_=literal(states.DECLINED)),
            case((_ok, None), else_=literal("daily_limit_exceeded")),
            case((_ok, bindparam("day", type_=String)), else_=None),
            case((_ok, bindparam("created_at", type_=BigInteger)), else_=None),
            _pick("answer_authorized", "answer_declined", JSON),
            literal(0, BigInteger),
            literal(0, BigInteger),
        ).select_from(_spent),
    )
    .returning(_payment.c.state)
)
