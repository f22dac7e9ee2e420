"""The QR codes issued (idp/qr/, docs/qr-token.md): one row per code, kept until it expires."""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp.store.base import Base


class QrCode(Base):
    """A code's random ``ecard_ref`` (hex, the code id) and the e-card it stands for.

    The code itself carries only the random ref, so only this table links a code to a person;
    the status list is built from it (the codes still valid whose e-card or card has stopped).
    Rows past ``expires_at`` are deleted by ``essc qr purge``.
    """

    __tablename__ = "qr_codes"

    code_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    sign_no: Mapped[str] = mapped_column(ForeignKey("ecards.sign_no"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    #: The channel that asked for the code.
    client_id: Mapped[str] = mapped_column(String(64))
    #: A family proxy's e-card when a relative minted the code (a later issue); else None.
    actor_sign_no: Mapped[str | None] = mapped_column(String(43))
    #: The family relationship a relative's code was minted under: the code stops when it ends.
    family_relationship_id: Mapped[str | None] = mapped_column(String(36), index=True)
    issued_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
