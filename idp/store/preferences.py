"""A cardholder's page preferences: for now whether pages are shown as 长辈版 (elderly mode,
docs/pages.md "长辈版 (elderly mode)"), kept so the choice follows them to another browser."""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from idp.store.base import Base

#: The page forms a cardholder can choose; ``standard`` is also what no row means.
UI_MODES = ("elder", "standard")


class CardholderPreference(Base):
    """One row per cardholder who chose a page form (``ui``: ``elder`` or ``standard``)."""

    __tablename__ = "cardholder_preferences"

    person_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True
    )
    ui: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[int] = mapped_column(BigInteger)


def saved_ui(session: Session, person_id: str) -> str | None:
    """The page form the cardholder chose, or None if they never chose."""
    found = session.scalar(
        select(CardholderPreference.ui).where(CardholderPreference.person_id == person_id)
    )
    return found if found in UI_MODES else None


def save_ui(session: Session, person_id: str, ui: str, now: int) -> None:
    """Insert or overwrite in one statement (``INSERT ... ON CONFLICT DO UPDATE``): two
    switches at once leave one row holding one of the two choices, never an error."""
    if ui not in UI_MODES:
        raise ValueError("unknown page form")
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(CardholderPreference)
        .values(person_id=person_id, ui=ui, updated_at=now)
        .on_conflict_do_update(
            index_elements=[CardholderPreference.person_id], set_={"ui": ui, "updated_at": now}
        )
    )
