"""Scan-to-sign-in requests (docs/scan-signin.md): one row per QR a PC sign-in page shows, keyed
by the keyed hash of its reference; every state change is one conditional UPDATE ... RETURNING
(``idp.scan_signin.service``), so a request is approved, denied or redeemed exactly once."""

from __future__ import annotations

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from idp.store.base import Base


class ScanRequest(Base):
    __tablename__ = "scan_signin_requests"

    ref_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The keyed hash of the PC browser's ``essc_scan`` cookie: only that browser polls and redeems.
    pc_hash: Mapped[str] = mapped_column(String(64), unique=True)
    interaction_id: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(64))
    #: waiting, scanned, approved, denied, expired (docs/scan-signin.md "States").
    state: Mapped[str] = mapped_column(String(16))
    #: The number the PC shows once scanned, and the three the phone offers (number matching).
    number: Mapped[int] = mapped_column(Integer)
    choices: Mapped[list[int]] = mapped_column(JSON)
    #: The PC's network prefix (IPv4 /24, IPv6 /48), never its full address.
    pc_network: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str | None] = mapped_column(String(64))
    sign_no: Mapped[str | None] = mapped_column(String(256))
    person_id: Mapped[str | None] = mapped_column(String(64))
    acr: Mapped[str | None] = mapped_column(String(64))
    amr: Mapped[list[str] | None] = mapped_column(JSON)
    auth_time: Mapped[int | None] = mapped_column(BigInteger)
    phone_network: Mapped[str | None] = mapped_column(String(64))
    far_from_pc: Mapped[bool | None] = mapped_column(Boolean)
    deny_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    scanned_at: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[int | None] = mapped_column(BigInteger)
    redeemed_at: Mapped[int | None] = mapped_column(BigInteger)
