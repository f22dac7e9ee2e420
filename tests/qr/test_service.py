"""``provider.qr``: issuing, opening, refusals by e-card and card state, the status list."""

from __future__ import annotations

from typing import Any

import pytest

from idp.errors import Problem
from idp.qr.token import Purpose
from idp.qr.token import QrTokenError
from idp.qr.token import decode
from idp.qr.verifier import OfflineVerifier
from idp.qr.verifier import QrKeySet
from idp.qr.verifier import StatusList
from idp.store.ecards import ECard
from idp.store.qr import QrCode
from tests.qr.helpers import change_card
from tests.qr.helpers import codes
from tests.qr.helpers import issue_ecard


def test_issue_and_open_every_purpose(provider: Any, cardholder: Any) -> None:
    _, sign_no = issue_ecard(provider, cardholder)
    for purpose in Purpose:
        (text,) = codes(provider, sign_no, purpose)
        with provider.db.read() as s:
            opened = provider.qr.open(s, text, purpose)
        assert opened.sign_no == sign_no and opened.person_id == cardholder["person_id"]
        assert opened.code_id == decode(text).token.code_id and opened.level == 2
        with provider.db.read() as s, pytest.raises(QrTokenError) as refused:
            other = next(p for p in Purpose if p is not purpose)
            provider.qr.open(s, text, other)
        assert refused.value.reason == "wrong_purpose"


def test_a_batch_is_consecutive_windows_and_distinct_codes(
    provider: Any, cardholder: Any, clock: Any
) -> None:
    _, sign_no = issue_ecard(provider, cardholder)
    batch = [decode(t).token for t in codes(provider, sign_no, Purpose.TRANSIT, 5)]
    assert [t.issued_at for t in batch] == [int(clock()) + 60 * i for i in range(5)]
    assert all(t.expires_at == t.issued_at + 60 for t in batch)
    assert len({t.code_id for t in batch}) == 5
    with provider.db.read() as s:
        assert s.query(QrCode).count() == 5
    with provider.db.transaction() as s, pytest.raises(Problem) as refused:
        provider.qr.issue(s, s.get(ECard, sign_no), Purpose.TRANSIT, 6)
    assert refused.value.status == 400


def test_later_batch_codes_are_not_yet_valid(provider: Any, cardholder: Any, clock: Any) -> None:
    _, sign_no = issue_ecard(provider, cardholder)
    first, _, third = codes(provider, sign_no, Purpose.IDENTITY, 3)
    with provider.db.read() as s:
        provider.qr.open(s, first, "identity")
        with pytest.raises(QrTokenError) as refused:
            provider.qr.open(s, third, "identity")
        assert refused.value.reason == "not_yet_valid"
    clock.advance(125)
    with provider.db.read() as s:
        assert provider.qr.open(s, third, "identity").sign_no == sign_no
        with pytest.raises(QrTokenError) as refused:
            provider.qr.open(s, first, "identity")
        assert refused.value.reason == "expired"


@pytest.mark.parametrize("action", ["suspend", "cancel"])
def test_a_stopped_card_gets_no_codes_and_its_codes_stop(
    provider: Any, cardholder: Any, action: str
) -> None:
    _, sign_no = issue_ecard(provider, cardholder)
    (text,) = codes(provider, sign_no, Purpose.MEDICAL)
    change_card(provider, action)
    with provider.db.read() as s, pytest.raises(QrTokenError) as refused:
        provider.qr.open(s, text, Purpose.MEDICAL)
    assert refused.value.reason == "revoked"
    with pytest.raises(Problem) as problem:
        codes(provider, sign_no, Purpose.MEDICAL)
    assert problem.value.slug == "card-not-usable"


def test_level_one_gets_no_payment_codes(provider: Any, cardholder: Any) -> None:
    _, sign_no = issue_ecard(provider, cardholder, level=1)
    with pytest.raises(Problem) as problem:
        codes(provider, sign_no, Purpose.PAYMENT)
    assert problem.value.slug == "level-too-low"
    assert len(codes(provider, sign_no, Purpose.IDENTITY, 2)) == 2


def test_status_list_flips_on_suspend_and_back_on_resume(
    provider: Any, cardholder: Any, clock: Any
) -> None:
    _, sign_no = issue_ecard(provider, cardholder)
    texts = codes(provider, sign_no, Purpose.TRANSIT, 2)
    keys = QrKeySet.from_jwks(provider.qr.jwks())

    def current() -> StatusList:
        provider.qr.forget_status_list()
        with provider.db.read() as s:
            token = provider.qr.status_list_jwt(s)
        return StatusList.from_jwt(token, keys, subject=provider.qr.status_list_uri, now=clock())

    indices = [decode(t).token.status_index for t in texts]
    assert not any(current().is_revoked(i) for i in indices)
    change_card(provider, "suspend")
    assert all(current().is_revoked(i) for i in indices)
    change_card(provider, "resume")
    assert not any(current().is_revoked(i) for i in indices)


def test_offline_verifier_with_the_served_list(provider: Any, cardholder: Any, clock: Any) -> None:
    _, sign_no = issue_ecard(provider, cardholder)
    (text,) = codes(provider, sign_no, Purpose.PAYMENT)
    jwks = provider.qr.jwks()

    class Served:
        def status_list(self, *, force: bool = False) -> StatusList:
            with provider.db.read() as s:
                token = provider.qr.status_list_jwt(s)
            return StatusList.from_jwt(token, QrKeySet.from_jwks(jwks), subject=None, now=clock())

    verifier = OfflineVerifier(jwks, Served(), clock=clock)
    assert verifier.verify(text, "payment").code_id == decode(text).token.code_id
    change_card(provider, "cancel")
    assert verifier.verify(text, "payment")  # the list this process built is still cached
    clock.advance(60)
    with pytest.raises(QrTokenError) as refused:
        verifier.verify(text, "payment")
    assert refused.value.reason == "revoked"


def test_purge_deletes_rows_an_hour_after_expiry(
    provider: Any, cardholder: Any, clock: Any
) -> None:
    _, sign_no = issue_ecard(provider, cardholder)
    codes(provider, sign_no, Purpose.IDENTITY, 2)  # expire at +60 and +120
    clock.advance(60 + 3600 + 1)
    with provider.db.transaction() as s:
        assert provider.qr.purge(s, provider.now()) == 1
    with provider.db.read() as s:
        assert s.query(QrCode).count() == 1
