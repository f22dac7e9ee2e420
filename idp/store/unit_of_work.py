"""The unit of work: one transaction per request or CLI command, opened at the edge.

A view or a command opens it (``Provider.unit_of_work()``) and hands it to the services; they
write through its repositories (``uow.ecards``, ``uow.cards``) or its ``session`` and never
commit or roll back themselves, so everything one request does commits or rolls back together
(``docs/architecture.md`` "Unit of work").
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy.orm import Session

from idp.store.card_repository import CardRepository
from idp.store.card_repository import ECardRepository
from idp.store.card_repository import SqlCardRepository
from idp.store.card_repository import SqlECardRepository
from idp.store.database import Database


class UnitOfWork:
    """The session of one request's transaction, the repositories over it, and the request id
    its audit events carry."""

    def __init__(self, session: Session, request_id: str | None) -> None:
        self.session = session
        self.request_id = request_id
        self._after_commit: list[Callable[[], None]] = []

    @cached_property
    def ecards(self) -> ECardRepository:
        return SqlECardRepository(self.session)

    @cached_property
    def cards(self) -> CardRepository:
        return SqlCardRepository(self.session)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the transaction has committed (forgetting a cached client, say:
        done earlier, a concurrent reader could cache the row this transaction is replacing)."""
        self._after_commit.append(action)


@contextmanager
def unit_of_work(db: Database, request_id: str | None = None) -> Iterator[UnitOfWork]:
    """``Database.transaction()`` decides commit or rollback (an exception that must keep its
    writes commits too); the after-commit actions run only when the block ends normally."""
    with db.transaction() as session:
        uow = UnitOfWork(session, request_id)
        yield uow
    for action in uow._after_commit:
        action()
