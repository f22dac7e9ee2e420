"""Engine and transactions. One transaction per request: ``with db.transaction() as s: ...``.

Dead connections (issue 12): no ``pool_pre_ping``, which costs every request a ``SELECT 1``
round trip. Instead a pooled PostgreSQL connection is recycled after ``POOL_RECYCLE`` seconds,
checked out only after a poll of its socket with no round trip (a server that ended the
connection, by ``pg_terminate_backend`` or a restart, has left an error and an EOF there), and
a transaction whose first statement still meets a dead connection, before anything was
written, is begun again once on a fresh one (``RetryingSession``).
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from idp.errors import KeepsWrites
from idp.store.audit_chain import PENDING_RECORDS

#: Seconds a pooled PostgreSQL connection is reused before it is closed and opened anew:
#: below the usual idle timeouts of proxies and firewalls on the way (often 1 hour).
POOL_RECYCLE = 1800


class RetryingSession(Session):
    """Begins its transaction again, once, when the transaction's first statement finds the
    connection dead (``connection_invalidated``): nothing can have been written then, since
    nothing reached the server and no ORM write was pending. Audit records queued before
    that statement are kept across the new beginning."""

    _first_done = False

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        if self._first_done:
            return super().execute(*args, **kwargs)
        self._first_done = True
        try:
            return super().execute(*args, **kwargs)
        except sa_exc.DBAPIError as error:
            if not error.connection_invalidated or self.new or self.dirty or self.deleted:
                raise
            queued = self.info.get(PENDING_RECORDS)
            self.rollback()  # the invalidated connection goes; the pool hands out a new one
            self.begin()
            if queued:
                self.info[PENDING_RECORDS] = queued
            return super().execute(*args, **kwargs)

    def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return self.execute(*args, **kwargs).scalar()

    def scalars(self, *args: Any, **kwargs: Any) -> Any:
        return self.execute(*args, **kwargs).scalars()


class Database:
    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self.engine = _make_engine(url, **engine_options)
        self._sessions = sessionmaker(self.engine, class_=RetryingSession, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit on success, roll back on any exception: no partial writes.

        A ``KeepsWrites`` error is itself the result of a write that must stand (revoking a
        token family on code reuse, counting a wrong PIN): that transaction is committed, then
        the error propagates. This is the one place that decides it.
        """
        with self._sessions() as session:
            session.begin()
            try:
                yield session
            except BaseException as exc:
                if isinstance(exc, KeepsWrites):
                    session.commit()
                else:
                    session.rollback()
                raise
            session.commit()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: str, **options: Any) -> Engine:
    # SQLAlchemy puts bound parameters into its error messages, and an error is logged: hide
    # them so an ID-number hash, a token hash or a name never reaches a log through an error.
    options.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///"):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **options
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    options.setdefault("pool_recycle", POOL_RECYCLE)
    options.setdefault("pool_size", 10)
    engine = create_engine(url, **options)
    event.listen(engine, "checkout", _alive_or_discarded)
    return engine


def _alive_or_discarded(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """An idle PostgreSQL connection has nothing to read; a readable socket means the server
    spoke first, which it does only to end the connection (a FATAL error, then EOF). Raising
    ``DisconnectionError`` makes the pool discard it and check out another (SQLAlchemy's
    "custom pessimistic ping", here without a round trip)."""
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:  # not psycopg 3: nothing to poll
        return
    poll = select.poll()
    try:
        poll.register(pgconn.socket, select.POLLIN)
    except Exception:  # the socket is already gone
        raise sa_exc.DisconnectionError("the connection is closed") from None
    if poll.poll(0):
        raise sa_exc.DisconnectionError("the server ended the connection")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the dev server's threads read while one writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
