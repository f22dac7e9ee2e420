"""Online redemption (issue 9, item 4): once, audited, answering only what the verifier may see;
50 concurrent redemptions of one code succeed exactly once (SQLite and the real PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from idp.qr.token import Purpose
from idp.store.payments import QrRedemption
from idp.store.security import AuditEvent
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import assert_problem
from tests.ecard_helpers import bearer
from tests.payments.helpers import Payer
from tests.payments.helpers import add_merchant
from tests.payments.helpers import merchant_headers
from tests.payments.helpers import payer
from tests.qr.helpers import change_card
from tests.store.test_races import all_at_once
from tests.store.test_races import poster
from tests.support import CARD

PATH = "/api/v1/qr/redemptions"


@pytest.fixture
def scanner(provider: Any, web: Any) -> dict[str, str]:
    return merchant_headers(web, add_merchant(provider), "essc.qr.redeem")


@pytest.fixture
def holder(provider: Any, web: Any, cardholder: Any) -> Payer:
    return payer(provider, web, cardholder)


def redeem(web: Any, headers: dict[str, str], code: str, purpose: str) -> Any:
    return web.post(PATH, json={"code": code, "purpose": purpose}, headers=headers)


EXPECTED = {
    "medical": {"name": CARD["name"], "card_number_masked": "A0*****01"},
    "identity": {"name_masked": "张*"},
}


@pytest.mark.parametrize("purpose", [p.value for p in Purpose])
def test_each_purpose_answers_only_what_its_verifier_may_see(
    provider: Any, web: Any, scanner: Any, cardholder: Any, holder: Payer, purpose: str
) -> None:
    response = redeem(web, scanner, holder.code(Purpose(purpose)), purpose)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.json
    shown = {k: v for k, v in body.items() if k not in ("redemption_id", "purpose", "redeemed_at")}
    if purpose in EXPECTED:
        assert shown == EXPECTED[purpose]
    else:  # a shop or a gate: a reference, never the person
        assert shown == {f"{purpose}_reference": body["redemption_id"]}
    assert body["purpose"] == purpose and body["redeemed_at"] == provider.now()
    text = response.get_data(as_text=True)
    assert holder.sign_no not in text and CARD["card_number"] not in text
    with provider.db.read() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.event == "qr.redeemed")).all()
    assert event.person_id == cardholder["person_id"] and event.detail["purpose"] == purpose
    assert event.detail["reference"] == body["redemption_id"]


def test_a_replay_is_refused_naming_when_it_was_first_used(
    provider: Any, web: Any, scanner: Any, holder: Payer, clock: Any
) -> None:
    code = holder.code(Purpose.TRANSIT)
    first = redeem(web, scanner, code, "transit")
    assert first.status_code == 201
    clock.advance(5)
    again = redeem(web, scanner, code, "transit")
    body = assert_problem(again, 409, "code-already-redeemed")
    assert body["first_redeemed_at"] == first.json["redeemed_at"] == provider.now() - 5
    other = merchant_headers(web, add_merchant(provider), "essc.qr.redeem")
    assert_problem(redeem(web, other, code, "transit"), 409, "code-already-redeemed")


def test_refusals(provider: Any, web: Any, scanner: Any, holder: Payer, clock: Any) -> None:
    medical = holder.code(Purpose.MEDICAL)
    assert_problem(redeem(web, scanner, medical, "transit"), 422, "code-wrong-purpose")
    assert_problem(redeem(web, scanner, medical, "shopping"), 422, "invalid-request")
    assert_problem(redeem(web, scanner, "hello", "medical"), 422, "invalid-request")
    assert_problem(redeem(web, scanner, "SC1:" + "0" * 40, "medical"), 422, "code-malformed")
    bare = web.post(PATH, json={"code": medical}, headers=scanner)
    assert_problem(bare, 422, "invalid-request")
    assert_problem(
        web.post(PATH, json={"code": medical, "purpose": "medical"}), 401, "unauthorized"
    )
    channel = bearer(web, add_channel(provider, "wechat"))
    assert_problem(redeem(web, channel, medical, "medical"), 403, "insufficient-scope")
    payer_only = merchant_headers(web, add_merchant(provider, scope="essc.pay"))
    assert_problem(redeem(web, payer_only, medical, "medical"), 403, "insufficient-scope")
    expiring = holder.code(Purpose.IDENTITY)
    clock.advance(60 + provider.settings.clock_skew + 1)
    assert_problem(redeem(web, scanner, expiring, "identity"), 422, "code-expired")
    with provider.db.read() as s:
        assert s.scalars(select(QrRedemption)).all() == []


def test_a_suspended_card_stops_its_codes_at_once(
    provider: Any, web: Any, scanner: Any, holder: Payer
) -> None:
    code = holder.code(Purpose.MEDICAL)
    change_card(provider, "suspend")
    assert_problem(redeem(web, scanner, code, "medical"), 422, "code-revoked")


def test_fifty_concurrent_redemptions_of_one_code_succeed_once(
    provider: Any, app: Any, web: Any, scanner: Any, holder: Payer
) -> None:
    code = holder.code(Purpose.MEDICAL)
    post = poster(PATH, {"code": code, "purpose": "medical"}, scanner)
    responses = all_at_once(app, [post] * 50)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 49, statuses
    assert all(
        r.json["type"].endswith("/code-already-redeemed") for r in responses if r.status_code == 409
    )
    with provider.db.read() as s:
        assert len(s.scalars(select(QrRedemption)).all()) == 1
        events = s.scalars(select(AuditEvent).where(AuditEvent.event == "qr.redeemed")).all()
    assert len(events) == 1
