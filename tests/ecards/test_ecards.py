"""E-card issuance, idempotency, supersession, level rules and unbinding (``idp.ecards.service``),
and the SD-JWT VC credential, on every configured backend."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from idp.channel_auth.caller import Channel
from idp.ecards import sd_jwt_vc
from idp.ecards import service as ecards
from idp.ecards.requests import UnbindRequest
from idp.ecards.requests import parse_issue
from idp.errors import Problem
from idp.store.ecards import ECard
from idp.store.ecards import OutboxMessage
from idp.store.people import Person
from tests.ecard_helpers import FAMILIES
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import channel_of
from tests.ecard_helpers import counts
from tests.ecard_helpers import issue_body
from tests.ecard_helpers import set_card
from tests.support import CARD


def issue(provider: Any, channel: Channel, body: dict[str, Any]) -> ecards.IssuedECard:
    with provider.unit_of_work() as uow:
        return provider.ecards.issue(uow, channel, parse_issue(body))


def refused(provider: Any, channel: Channel, body: dict[str, Any]) -> Problem:
    before = counts(provider)
    with pytest.raises(Problem) as caught:
        issue(provider, channel, body)
    assert counts(provider) == before
    return caught.value


def credential_claims(provider: Any, combined: str) -> tuple[dict[str, Any], dict[str, Any]]:
    token, disclosures = sd_jwt_vc.split(combined)
    payload = provider.keyring.verify(token, typ="dc+sd-jwt", issuer=provider.issuer)
    return payload, sd_jwt_vc.disclosed_claims(payload, disclosures)


@pytest.mark.parametrize("family", FAMILIES)
def test_issue_per_channel_family(provider: Any, cardholder: Any, family: str) -> None:
    channel = channel_of(provider, add_channel(provider, family).client_id)
    issued = issue(provider, channel, issue_body(provider, family))
    assert issued.status == "active" and issued.level == 1 and not issued.replayed
    assert len(issued.sign_no) == 43
    with provider.db.read() as s:
        row = s.get(ECard, issued.sign_no)
        assert row is not None and row.client_id == channel.client_id
        assert row.person_id == cardholder["person_id"]
        assert row.evidence == {"real_name_level": 3, "face_verified_at": provider.now() - 5}
        sent = s.scalars(select(OutboxMessage)).all()
    assert [(m.event, m.client_id, m.payload["sign_no"]) for m in sent] == [
        ("ecard.issued", channel.client_id, issued.sign_no)
    ]


def test_credential_is_an_sd_jwt_vc_with_personal_claims_disclosed_only(
    provider: Any, cardholder: Any
) -> None:
    channel = channel_of(provider, add_channel(provider, "wechat").client_id)
    issued = issue(provider, channel, issue_body(provider))
    payload, claims = credential_claims(provider, issued.credential)
    clear = str(payload)
    assert CARD["name"] not in clear and CARD["id_number"] not in clear
    assert payload["vct"] == provider.issuer + "/credentials/ecard/v1"
    assert payload["sub"] == issued.sign_no and payload["_sd_alg"] == "sha-256"
    assert payload["name_masked"] == "张*" and payload["id_number_masked"] == "1101**********002X"
    assert claims["name"] == CARD["name"] and claims["id_number"] == CARD["id_number"]
    assert claims["card_number"] == CARD["card_number"] and claims["region_code"] == "110105"
    _, disclosures = sd_jwt_vc.split(issued.credential)
    only_name = [d for d in disclosures if "name" in sd_jwt_vc.b64url_decode(d).decode()][:1]
    assert set(sd_jwt_vc.disclosed_claims(payload, only_name)) - set(payload) == {"name"}
    with pytest.raises(ValueError):
        sd_jwt_vc.disclosed_claims(payload, [sd_jwt_vc.disclosure("x" * 22, "name", "李四")])


def test_disclosure_digest_matches_the_sd_jwt_specification_example() -> None:
    """SD-JWT "Hashing Disclosures": the published family_name example."""
    example = "WyI2cU1RdlJMNWhhaiIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
    assert sd_jwt_vc.digest(example) == "uutlBuYeMDyjLLTpf6Jxi7yNkEF35jdyWMn9U7b_RYY"


def test_same_key_and_body_returns_the_same_ecard(provider: Any, cardholder: Any) -> None:
    channel = channel_of(provider, add_channel(provider, "alipay").client_id)
    body = issue_body(provider, "alipay")
    first = issue(provider, channel, body)
    before = counts(provider)
    again = issue(provider, channel, body)
    assert again.replayed and again.sign_no == first.sign_no
    assert counts(provider) == before
    assert sd_jwt_vc.split(again.credential)[1] == sd_jwt_vc.split(first.credential)[1]


def test_same_key_with_another_body_is_409(provider: Any, cardholder: Any) -> None:
    channel = channel_of(provider, add_channel(provider, "alipay").client_id)
    issue(provider, channel, issue_body(provider, "alipay"))
    problem = refused(provider, channel, issue_body(provider, "alipay", channel_subject="2088x1"))
    assert (problem.status, problem.slug) == (409, "idempotency-key-reused")


def test_issuing_again_supersedes_in_the_same_transaction(provider: Any, cardholder: Any) -> None:
    channel = channel_of(provider, add_channel(provider, "wechat").client_id)
    first = issue(provider, channel, issue_body(provider))
    second = issue(provider, channel, issue_body(provider, idempotency_key="req-wechat-0002"))
    assert second.supersedes == first.sign_no
    with provider.db.read() as s:
        statuses = {
            sign_no: status for sign_no, status in s.execute(select(ECard.sign_no, ECard.status))
        }
    assert statuses == {first.sign_no: "superseded", second.sign_no: "active"}
    other = channel_of(provider, add_channel(provider, "alipay").client_id)
    issue(provider, other, issue_body(provider, "alipay"))
    assert counts(provider)["active"] == 2  # one per channel


@pytest.mark.parametrize(
    ("family", "linked", "scopes", "expected"),
    [
        ("wechat", True, None, (403, "level-not-allowed")),
        ("alipay", True, None, (403, "level-not-allowed")),
        ("bank", False, None, (409, "bank-account-not-linked")),
        ("unionpay", False, None, (409, "bank-account-not-linked")),
        ("bank", True, None, None),
        ("unionpay", True, None, None),
        ("wechat", True, ["essc.ecard", "essc.payment"], None),
    ],
)
def test_level_two_rules(
    provider: Any,
    cardholder: Any,
    family: str,
    linked: bool,
    scopes: list[str] | None,
    expected: tuple[int, str] | None,
) -> None:
    extra = {"scopes": scopes} if scopes else {}
    channel = channel_of(provider, add_channel(provider, family, **extra).client_id)
    set_card(provider, cardholder["person_id"], bank_account_linked=linked)
    body = issue_body(provider, family, level=2)
    if expected is None:
        assert issue(provider, channel, body).level == 2
        return
    problem = refused(provider, channel, body)
    assert (problem.status, problem.slug) == expected


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "李四"},
        {"id_number": "110101199003074514"},  # valid, but nobody's
        {"region_code": "310101"},
    ],
)
def test_a_mismatch_does_not_say_which_field(
    provider: Any, cardholder: Any, changes: dict[str, str]
) -> None:
    channel = channel_of(provider, add_channel(provider, "wechat").client_id)
    problem = refused(provider, channel, issue_body(provider, **changes))
    assert (problem.status, problem.slug) == (422, "cardholder-mismatch")
    assert "field" not in problem.extensions


@pytest.mark.parametrize("status", ["suspended", "cancelled", "replaced"])
def test_unusable_card_is_refused(provider: Any, cardholder: Any, status: str) -> None:
    channel = channel_of(provider, add_channel(provider, "bank").client_id)
    set_card(provider, cardholder["person_id"], status=status)
    problem = refused(provider, channel, issue_body(provider, "bank"))
    assert (problem.status, problem.slug) == (409, "card-not-usable")


def test_a_lapsed_suspension_does_not_block_issuance(
    provider: Any, cardholder: Any, clock: Any
) -> None:
    """A temporary suspension lifts by itself (issue 3, 4): no cron run is needed first."""
    channel = channel_of(provider, add_channel(provider, "bank").client_id)
    set_card(
        provider, cardholder["person_id"], status="suspended", suspended_until=provider.now() + 60
    )
    assert refused(provider, channel, issue_body(provider, "bank")).slug == "card-not-usable"
    clock.advance(61)
    issued = issue(provider, channel, issue_body(provider, "bank"))
    assert issued.sign_no


def test_stale_face_check_is_refused(provider: Any, cardholder: Any) -> None:
    channel = channel_of(provider, add_channel(provider, "wechat").client_id)
    stale = {"real_name_level": 3, "face_verified_at": provider.now() - 601}
    problem = refused(provider, channel, issue_body(provider, evidence=stale))
    assert problem.slug == "stale-face-check"


def unbind(provider: Any, channel: Channel, sign_no: str, request: UnbindRequest) -> Any:
    with provider.unit_of_work() as uow:
        return provider.ecards.unbind(uow, channel, sign_no, request)


def test_unbind_with_pin_records_the_factor(provider: Any, cardholder: Any) -> None:
    channel = channel_of(provider, add_channel(provider, "wechat").client_id)
    issued = issue(provider, channel, issue_body(provider))
    result = unbind(provider, channel, issued.sign_no, UnbindRequest("pin", pin=CARD["pin"]))
    assert result["status"] == "unbound"
    with provider.db.read() as s:
        row = s.get(ECard, issued.sign_no)
        assert row is not None and row.evidence["unbound"]["factor"] == "pin"
        events = [m.event for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert events == ["ecard.issued", "ecard.unbound"]


def test_wrong_pin_counts_a_failure_and_changes_nothing_else(
    provider: Any, cardholder: Any
) -> None:
    channel = channel_of(provider, add_channel(provider, "wechat").client_id)
    issued = issue(provider, channel, issue_body(provider))
    before = counts(provider)
    with pytest.raises(Problem) as caught:
        unbind(provider, channel, issued.sign_no, UnbindRequest("pin", pin="000000"))
    assert (caught.value.status, caught.value.slug) == (403, "factor-failed")
    assert counts(provider) == before
    with provider.db.read() as s:
        person = s.get(Person, cardholder["person_id"])
        assert person is not None and person.pin_failures == 1


def test_unbind_with_face_and_only_own_ecards(provider: Any, cardholder: Any) -> None:
    channel = channel_of(provider, add_channel(provider, "alipay").client_id)
    stranger = channel_of(provider, add_channel(provider, "wechat").client_id)
    issued = issue(provider, channel, issue_body(provider, "alipay"))
    face = UnbindRequest("face", face_verified_at=provider.now())
    with pytest.raises(Problem) as caught:
        unbind(provider, stranger, issued.sign_no, face)
    assert caught.value.status == 404
    assert unbind(provider, channel, issued.sign_no, face)["status"] == "unbound"
    with pytest.raises(Problem) as again:
        unbind(provider, channel, issued.sign_no, face)
    assert (again.value.status, again.value.slug) == (409, "ecard-not-active")
