"""Demo data for ``make run``: three cardholders and the demo portal's client.

Development only (``Settings.check`` refuses ``ESSC_DEMO`` in production). The demo portal's
client secret is written to ``instance/demo-client.json`` (mode 0600) so the portal at ``/demo``
can use it; no production client's secret is ever written anywhere.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select

from channels.registration import validate_metadata
from idp.cardholders.service import Cardholders
from idp.channel_admin.clients import add_client
from idp.store.people import SocialSecurityCard
from idp.store.unit_of_work import UnitOfWork

#: (name, ID number, region code, card number, PIN). ID numbers have valid check digits.
DEMO_CARDHOLDERS = (
    ("张三", "11010519491231002X", "110105", "A00000001", "802413"),
    ("李四", "440304199003078212", "440304", "B00000002", "395170"),
    ("王五", "310115198506124035", "310115", "C00000003", "274096"),
)


class DemoData:
    """Seeds the demo (``Provider.demo_data``): the cardholders through the cardholder service,
    the portal's client with the provider's secret hash."""

    def __init__(
        self,
        *,
        cardholders: Cardholders,
        secret_hash: Callable[[str], str],
        clock: Callable[[], int],
        issuer: str,
        instance_dir: Path,
    ) -> None:
        self._cardholders = cardholders
        self._secret_hash = secret_hash
        self._now = clock
        self._issuer = issuer
        self._client_file = instance_dir / "demo-client.json"

    def seed(self, uow: UnitOfWork) -> str:
        """Idempotent; the client file is written once the client row has committed."""
        for name, id_number, region, card, pin in DEMO_CARDHOLDERS:
            if uow.session.scalar(
                select(SocialSecurityCard.id).where(SocialSecurityCard.card_number == card)
            ):
                continue
            self._cardholders.enrol(
                uow, name=name, id_number=id_number, region_code=region, card_number=card, pin=pin
            )
        redirect = f"{self._issuer}/demo/callback"
        if not self._client_file.exists() or self._stored_redirect() != redirect:
            self._add_portal(uow, redirect)
        lines = [
            "Demo data ready.",
            f"  1. Open {self._issuer}/demo and press 'Sign in with e-SSC'.",
            "  2. Sign in with card number A00000001 (or ID number 11010519491231002X), "
            "PIN 802413.",
            "  3. Approve the consent; the portal shows the ID token and userinfo claims.",
            "  Other demo cardholders: B00000002 / 395170, C00000003 / 274096.",
        ]
        return "\n".join(lines)

    def _stored_redirect(self) -> str:
        stored: str = json.loads(self._client_file.read_text())["redirect_uri"]
        return stored

    def _add_portal(self, uow: UnitOfWork, redirect: str) -> None:
        metadata = validate_metadata(
            name="示例政务门户 Demo government portal",
            kind="portal",
            grant_types=["authorization_code", "refresh_token"],
            auth_method="client_secret_basic",
            redirect_uris=[redirect],
            scopes=["openid profile essc.card"],
        )
        row, secret = add_client(uow.session, metadata, self._secret_hash, now=self._now())
        saved = {"client_id": row.client_id, "client_secret": secret, "redirect_uri": redirect}
        uow.after_commit(partial(self._write_client_file, saved))

    def _write_client_file(self, saved: dict[str, Any]) -> None:
        self._client_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._client_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(saved, out)
