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

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from idp.store.payments import PaymentDailySpend

CHINA = timezone(timedelta(hours=8), "CST")


def china_day(now: int) -> str:
    """``YYYY-MM-DD`` of the Unix time ``now`` in China Standard Time."""
    return datetime.fromtimestamp(now, CHINA).date().isoformat()


def day_bounds(day: str) -> tuple[int, int]:
    """[start, end) in Unix seconds of a China Standard Time day ``YYYY-MM-DD``."""
    start = datetime.fromisoformat(day).replace(tzinfo=CHINA)
    return int(start.timestamp()), int((start + timedelta(days=1)).timestamp())


def charge(session: Session, sign_no: str, day: str, amount: int, limit: int) -> bool:
    """Add ``amount`` to the e-card's spend of ``day`` if the sum stays within ``limit``.

    One statement: the day's first payment inserts the row, any later one takes the
    ``ON CONFLICT DO UPDATE ... WHERE`` branch, which PostgreSQL runs on the row locked and
    re-read as committed (a concurrent first insert is waited for), so the sum never passes.
    """
    if amount > limit:
        return False
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(PaymentDailySpend).values(sign_no=sign_no, day=day, spent_fen=amount)
    spent = session.scalar(
        statement.on_conflict_do_update(
            index_elements=[PaymentDailySpend.sign_no, PaymentDailySpend.day],
            set_={"spent_fen": PaymentDailySpend.spent_fen + amount},
            where=PaymentDailySpend.spent_fen + amount <= limit,
        )
        .returning(PaymentDailySpend.spent_fen)
        .execution_options(synchronize_session=False)
    )
    return spent is not None


def release(session: Session, sign_no: str, day: str, amount: int) -> None:
    """Give back what a reversed payment had charged (never below zero)."""
    session.execute(
        update(PaymentDailySpend)
        .where(PaymentDailySpend.sign_no == sign_no, PaymentDailySpend.day == day)
        .where(PaymentDailySpend.spent_fen >= amount)
        .values(spent_fen=PaymentDailySpend.spent_fen - amount)
        .execution_options(synchronize_session=False)
    )


def spent_on(session: Session, sign_no: str, day: str) -> int:
    row = session.get(PaymentDailySpend, (sign_no, day))
    return row.spent_fen if row is not None else 0
