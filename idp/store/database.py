"""Engine and transactions. One transaction per request: ``with db.transaction() as s: ...``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from idp.errors import KeepsWrites


class Database:
    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self.engine = _make_engine(url, **engine_options)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

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
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", 10)
    return create_engine(url, **options)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the dev server's threads read while one writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
