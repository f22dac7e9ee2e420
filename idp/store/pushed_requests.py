"""Pushed authorization requests (RFC 9126) waiting for the browser: each ``request_uri`` kept
only as a keyed hash, with the request's parameters, until it is used once or expires."""

from __future__ import annotations

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import String
from sqlalchemy import delete
from sqlalchemy import update
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from idp.store.base import Base


class PushedRequest(Base):
    __tablename__ = "pushed_requests"

    request_uri_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    #: The authorization request's parameters as pushed, ``[[name, value], …]``.
    params: Mapped[list[list[str]]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    used_at: Mapped[int | None] = mapped_column(BigInteger)


class SqlPushedRequests:
    """The ``PushedRequestStore`` of ``idp.oauth.rfc9126_par`` inside one transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self,
        uri_hash: str,
        client_id: str,
        params: list[tuple[str, str]],
        now: int,
        expires_at: int,
    ) -> None:
        self._session.add(
            PushedRequest(
                request_uri_hash=uri_hash,
                client_id=client_id,
                params=[list(pair) for pair in params],
                created_at=now,
                expires_at=expires_at,
            )
        )

    def use(self, uri_hash: str, client_id: str, now: int) -> list[tuple[str, str]] | None:
        """Mark it used and return its parameters, once (Hydra's single use: one conditional
        UPDATE, so two browsers racing with one ``request_uri`` cannot both get it)."""
        row = self._session.execute(
            update(PushedRequest)
            .where(
                PushedRequest.request_uri_hash == uri_hash,
                PushedRequest.client_id == client_id,
                PushedRequest.used_at.is_(None),
                PushedRequest.expires_at > now,
            )
            .values(used_at=now)
            .returning(PushedRequest.params)
        ).first()
        return None if row is None else [(str(n), str(v)) for n, v in row[0]]

    def purge(self, now: int) -> int:
        result = self._session.execute(delete(PushedRequest).where(PushedRequest.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)
