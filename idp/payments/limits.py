"""The per e-card daily limit, kept by one counter row per e-card per day.

The day is China Standard Time (UTC+8), the day the holder lives in. The counter only moves by
one conditional upsert, ``INSERT ... ON CONFLICT DO UPDATE SET spent_fen = spent_fen + :amount
WHERE spent_fen + :amount <= :limit RETURNING``: PostgreSQL serialises updates of one row and
re-checks the ``WHERE`` on the row a concurrent one committed, SQLite has one writer, so however
many payments race, the sum never passes the limit. No Flask here.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta
from datetime import timezone
from functools import cache

from sqlalchemy import BigInteger
from sqlalchemy import Insert
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from idp.qr.redemption_sql import table_of
from idp.store.payments import PaymentDailySpend

CHINA = timezone(timedelta(hours=8), "CST")
_spend = PaymentDailySpend.__table__.c


def china_day(now: int) -> str:
    """``YYYY-MM-DD`` of the Unix time ``now`` in China Standard Time."""
    return datetime.fromtimestamp(now, CHINA).date().isoformat()


def day_bounds(day: str) -> tuple[int, int]:
    """[start, end) in Unix seconds of a China Standard Time day ``YYYY-MM-DD``."""
    start = datetime.fromisoformat(day).replace(tzinfo=CHINA)
    return int(start.timestamp()), int((start + timedelta(days=1)).timestamp())


@cache
def _charge_statement(dialect: str) -> Insert:
    """Precompiled Core: binds ``sign_no``, ``day``, ``amount`` and ``limit``."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    amount = bindparam("amount", type_=BigInteger)
    statement = insert(table_of(PaymentDailySpend)).values(
        sign_no=bindparam("sign_no"), day=bindparam("day"), spent_fen=amount
    )
    return statement.on_conflict_do_update(
        index_elements=["sign_no", "day"],
        set_={"spent_fen": _spend.spent_fen + amount},
        where=_spend.spent_fen + amount <= bindparam("limit", type_=BigInteger),
    ).returning(_spend.spent_fen)


def charge(session: Session, sign_no: str, day: str, amount: int, limit: int) -> bool:
    """Add ``amount`` to the e-card's spend of ``day`` if the sum stays within ``limit``.

    One statement: the day's first payment inserts the row, any later one takes the
    ``ON CONFLICT DO UPDATE ... WHERE`` branch, which PostgreSQL runs on the row locked and
    re-read as committed (a concurrent first insert is waited for), so the sum never passes.
    """
    if amount > limit:
        return False
    statement = _charge_statement(session.get_bind().dialect.name)
    values = {"sign_no": sign_no, "day": day, "amount": amount, "limit": limit}
    return session.execute(statement, values).first() is not None


def release(session: Session, sign_no: str, day: str, amount: int) -> None:
    """Give back what a reversed payment had charged (never below zero)."""
    session.execute(
        update(PaymentDailySpend)
        .where(PaymentDailySpend.sign_no == sign_no, PaymentDailySpend.day == day)
        .where(PaymentDailySpend.spent_fen >= amount)
        .values(spent_fen=PaymentDailySpend.spent_fen - amount)
        .execution_options(synchronize_session=False)
    )


_SPENT = select(_spend.spent_fen).where(
    _spend.sign_no == bindparam("sign_no"), _spend.day == bindparam("day")
)


def spent_on(session: Session, sign_no: str, day: str) -> int:
    spent = session.execute(_SPENT, {"sign_no": sign_no, "day": day}).scalar()
    return int(spent) if spent is not None else 0
