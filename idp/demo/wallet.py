"""The demo wallet for ``make run``: a bank channel holding 张三's e-card, and a demo merchant.

Development only, like ``idp.demo.data``. The phone page (``/demo/phone``, ``idp.demo.phone``)
plays this channel's app; the merchant script (``docs/examples/merchant.py``) is the merchant
client and reads its credentials from ``instance/demo-merchant.json`` (mode 0600).
"""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select

from channels.kinds import ChannelKind
from channels.registration import validate_metadata
from idp.channel_admin.clients import add_client
from idp.channel_auth.caller import Channel
from idp.ecards.requests import parse_issue
from idp.provider import Provider
from idp.store.channels import ChannelRow
from idp.store.people import Person
from idp.store.people import SocialSecurityCard
from idp.store.unit_of_work import UnitOfWork

WALLET_FILE = "demo-wallet.json"
MERCHANT_FILE = "demo-merchant.json"
#: The demo cardholder whose phone the page plays (idp.demo.data.DEMO_CARDHOLDERS[0]).
HOLDER = {"name": "张三", "id_number": "11010519491231002X", "region_code": "110105"}
HOLDER_CARD = "A00000001"


def seed_wallet(p: Provider, uow: UnitOfWork) -> str:
    """Idempotent: the files are written once, after their rows commit."""
    instance = Path(p.settings.instance_dir)
    if _seeded(uow, instance):
        merchant = json.loads((instance / MERCHANT_FILE).read_text())
        if merchant["issuer"] != p.issuer:  # served on another port this time
            _write(instance / MERCHANT_FILE, {**merchant, "issuer": p.issuer})
        return _lines(p)
    wallet, _ = _add(p, uow, "示例银行钱包 Demo bank wallet", "bank", "essc.ecard essc.payment")
    merchant, secret = _add(p, uow, "示例商户 Demo shop", "merchant", "essc.qr.redeem essc.pay")
    sign_no = _issue_ecard(p, uow, wallet.client_id)
    _write_after(uow, instance / WALLET_FILE, {"client_id": wallet.client_id, "sign_no": sign_no})
    saved = {"client_id": merchant.client_id, "client_secret": secret, "issuer": p.issuer}
    _write_after(uow, instance / MERCHANT_FILE, saved)
    return _lines(p)


def _seeded(uow: UnitOfWork, instance: Path) -> bool:
    """Both files exist and name clients of this database (not of one deleted since)."""
    files = [instance / WALLET_FILE, instance / MERCHANT_FILE]
    if not all(f.exists() for f in files):
        return False
    ids = [json.loads(f.read_text())["client_id"] for f in files]
    return all(uow.session.get(ChannelRow, client_id) is not None for client_id in ids)


def _lines(p: Provider) -> str:
    return "\n".join(
        [
            "Demo wallet ready.",
            f"  Phone page (张三's payment code): {p.issuer}/demo/phone (PIN 802413).",
            "  Merchant script: .venv/bin/python docs/examples/merchant.py --help",
        ]
    )


def _add(p: Provider, uow: UnitOfWork, name: str, kind: str, scope: str) -> tuple[Any, str]:
    metadata = validate_metadata(
        name=name,
        kind=kind,
        grant_types=["client_credentials"],
        auth_method="client_secret_basic",
        redirect_uris=[],
        scopes=[scope],
        # The demo's merchant script authenticates with its secret so it stays a page of
        # Python (docs/payments.md); a real bank or merchant registers under FAPI 2.0.
        fapi2=False,
    )
    row, secret = add_client(uow.session, metadata, p.secret_hash, now=p.now())
    assert secret is not None  # client_secret_basic clients always get one
    return row, secret


def _issue_ecard(p: Provider, uow: UnitOfWork, client_id: str) -> str:
    """A level 2 e-card (the one that may pay): the demo card counts as bank-account linked."""
    card = uow.session.scalar(
        select(SocialSecurityCard).where(SocialSecurityCard.card_number == HOLDER_CARD)
    )
    if card is None:
        raise RuntimeError("run `essc demo` seeding of cardholders first")
    card.bank_account_linked = True
    uow.session.flush()
    person = uow.session.get(Person, card.person_id)
    assert person is not None
    body = {
        **HOLDER,
        "channel_subject": "DEMO-WALLET-0001",
        "evidence": {"real_name_level": 3, "face_verified_at": p.now() - 5},
        "level": 2,
        "idempotency_key": "demo-wallet-ecard-0001",
    }
    channel = Channel(client_id, ChannelKind.BANK, frozenset({"essc.ecard", "essc.payment"}))
    return p.ecards.issue(uow, channel, parse_issue(body)).sign_no


def _write_after(uow: UnitOfWork, path: Path, saved: dict[str, Any]) -> None:
    uow.after_commit(partial(_write, path, saved))


def _write(path: Path, saved: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(saved, out)


def wallet(p: Provider) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((Path(p.settings.instance_dir) / WALLET_FILE).read_text())
    return loaded
