"""Row locks that hold on both backends, for the read-check-write steps that need one."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import inspect
from sqlalchemy import update
from sqlalchemy.orm import Session

from idp.store.base import Base

Row = TypeVar("Row", bound=Base)


def lock_row(session: Session, model: type[Row], key: str) -> Row | None:
    """The row ``key`` of ``model``, locked until the transaction ends, read after the lock.

    PostgreSQL: ``SELECT ... FOR UPDATE``; a second locker waits, then reads what the first
    committed (READ COMMITTED takes a new snapshot per statement). SQLite has no row locks and
    ignores ``FOR UPDATE``; its one database write lock is taken by a transaction's first write,
    so a write that changes nothing takes it here, and every later read in the transaction sees
    the last commit and cannot be overtaken.
    """
    if session.get_bind().dialect.name == "sqlite":
        [pk] = inspect(model).primary_key
        session.execute(update(model).where(pk == key).values({pk.name: pk}))
    return session.get(model, key, with_for_update=True, populate_existing=True)
