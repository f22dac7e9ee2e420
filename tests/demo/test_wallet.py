"""The demo wallet's seeding (``essc demo``): idempotent, and the phone page on its e-card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from idp.app import create_app
from idp.demo.wallet import MERCHANT_FILE
from idp.demo.wallet import WALLET_FILE
from idp.demo.wallet import seed_wallet
from idp.store.channels import ChannelRow
from idp.store.ecards import ECard


def _seed(provider: Any) -> None:
    with provider.unit_of_work() as uow:
        provider.demo_data.seed(uow)
    with provider.unit_of_work() as uow:
        seed_wallet(provider, uow)


def test_seeding_twice_adds_nothing(provider: Any) -> None:
    _seed(provider)
    instance = Path(provider.settings.instance_dir)
    first = (instance / WALLET_FILE).read_text(), (instance / MERCHANT_FILE).read_text()
    _seed(provider)
    assert ((instance / WALLET_FILE).read_text(), (instance / MERCHANT_FILE).read_text()) == first
    with provider.db.read() as s:
        kinds = s.execute(select(ChannelRow.kind, func.count()).group_by(ChannelRow.kind)).all()
        sign_no = json.loads(first[0])["sign_no"]
        ecard = s.get(ECard, sign_no)
    assert dict(kinds) == {"portal": 1, "bank": 1, "merchant": 1}
    assert ecard is not None and ecard.level == 2 and ecard.status == "active"
    assert (instance / MERCHANT_FILE).stat().st_mode & 0o077 == 0


def test_the_phone_page_shows_a_payment_code(provider: Any) -> None:
    _seed(provider)
    web = create_app(provider.settings.with_overrides(demo=True), provider=provider).test_client()
    page = web.get("/demo/phone")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-code="SC1:' in html and "<svg" in html and "付款码" in html
    assert '<script src="/static/phone.js"></script>' in html and "onload" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "11010519491231002X" not in html and "A00000001" not in html
