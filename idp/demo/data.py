"""Demo data for ``make run``: three cardholders and the demo portal's client.

Development only (``Settings.check`` refuses ``ESSC_DEMO`` in production). The demo portal's
client secret is written to ``instance/demo-client.json`` (mode 0600) so the portal at ``/demo``
can use it; no production client's secret is ever written anywhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select

from channels.registration import validate_metadata
from idp.cardholders.service import add_cardholder
from idp.channel_admin.clients import add_client
from idp.store.people import SocialSecurityCard

#: (name, ID number, region code, card number, PIN). ID numbers have valid check digits.
DEMO_CARDHOLDERS = (
    ("张三", "11010519491231002X", "110105", "A00000001", "802413"),
    ("李四", "440304199003078212", "440304", "B00000002", "395170"),
    ("王五", "310115198506124035", "310115", "C00000003", "274096"),
)


def seed(provider: Any, instance_dir: Path) -> str:
    now = provider.now()
    with provider.db.transaction() as s:
        for name, id_number, region, card, pin in DEMO_CARDHOLDERS:
            if s.scalar(
                select(SocialSecurityCard.id).where(SocialSecurityCard.card_number == card)
            ):
                continue
            add_cardholder(
                s,
                provider.keyring,
                provider.pin_hasher,
                name=name,
                id_number=id_number,
                region_code=region,
                card_number=card,
                pin=pin,
                now=now,
            )
    client_file = instance_dir / "demo-client.json"
    redirect = f"{provider.issuer}/demo/callback"
    if not client_file.exists() or json.loads(client_file.read_text())["redirect_uri"] != redirect:
        metadata = validate_metadata(
            name="示例政务门户 Demo government portal",
            kind="portal",
            grant_types=["authorization_code", "refresh_token"],
            auth_method="client_secret_basic",
            redirect_uris=[redirect],
            scopes=["openid profile essc.card"],
        )
        with provider.db.transaction() as s:
            row, secret = add_client(s, metadata, provider.secret_hash, now=now)
        instance_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(client_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(
                {"client_id": row.client_id, "client_secret": secret, "redirect_uri": redirect}, out
            )
    lines = [
        "Demo data ready.",
        f"  1. Open {provider.issuer}/demo and press 'Sign in with e-SSC'.",
        "  2. Sign in with card number A00000001 (or ID number 11010519491231002X), PIN 802413.",
        "  3. Approve the consent; the portal shows the ID token and userinfo claims.",
        "  Other demo cardholders: B00000002 / 395170, C00000003 / 274096.",
    ]
    return "\n".join(lines)
