"""临时挂失 and 解挂 through the channel API on the cardholder's behalf (issue 6): PIN or face,
only through the channel's own active e-card, idempotent by state, audited with the channel as
actor, notified to every channel like an operator's change. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from sqlalchemy import select

from idp.cards import lifecycle as cards
from idp.store.ecards import CardEvent
from idp.store.ecards import OutboxMessage
from idp.store.people import Person
from idp.store.people import SocialSecurityCard
from idp.store.security import AuditEvent
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import bearer
from tests.ecard_helpers import issue_body
from tests.ecard_helpers import set_card
from tests.ecards.test_ecards_api import assert_problem
from tests.ecards.test_ecards_api import native_channel
from tests.ecards.test_ecards_api import signed_post
from tests.ecards.test_ecards_api import signer
from tests.support import CARD
from tests.support import exchange
from tests.support import obtain_code

PIN = {"factor": "pin", "pin": CARD["pin"]}


def issued(provider: Any, web: Any, family: str) -> tuple[Any, dict[str, str], str]:
    channel = add_channel(provider, family)
    headers = bearer(web, channel)
    response = web.post("/api/v1/ecards", json=issue_body(provider, family), headers=headers)
    assert response.status_code == 201, response.json
    return channel, headers, response.json["sign_no"]


def card_path(sign_no: str, action: str) -> str:
    return f"/api/v1/ecards/{sign_no}/card/{action}"


def history(provider: Any) -> list[tuple[str, str, str]]:
    with provider.db.read() as s:
        rows = s.scalars(select(CardEvent).order_by(CardEvent.id))
        return [(e.to_status, e.actor, e.factor) for e in rows]


def notices(provider: Any, event: str) -> dict[str, dict[str, Any]]:
    with provider.db.read() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.event == event))
        return {m.client_id: dict(m.payload) for m in rows}


def test_suspend_and_resume_by_pin_reach_every_channel(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    wechat, headers, sign_no = issued(provider, web, "wechat")
    bank, bank_headers, bank_sign_no = issued(provider, web, "bank")
    code, verifier = obtain_code(web, portal)
    tokens = exchange(web, portal, code, verifier).json

    response = web.post(card_path(sign_no, "suspend"), json=PIN, headers=headers)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["changed"] is True and body["action"] == "suspend"
    until = provider.now() + provider.settings.suspension_seconds
    assert body["card"] == {
        "status": "suspended",
        "card_number_masked": "A0*****01",
        "region_code": CARD["region_code"],
        "suspended_until": until,
    }
    assert CARD["card_number"] not in response.get_data(as_text=True)
    assert history(provider) == [("suspended", wechat.client_id, "pin")]
    sent = notices(provider, "card.suspended")
    assert set(sent) == {wechat.client_id, bank.client_id}
    assert sent[bank.client_id]["sign_no"] == bank_sign_no
    assert sent[bank.client_id]["suspended_until"] == until
    with provider.db.read() as s:
        audit = s.scalar(select(AuditEvent).where(AuditEvent.event == "card.suspended"))
    assert audit is not None and audit.actor == wechat.client_id
    assert audit.detail["factor"] == "pin" and CARD["card_number"] not in json.dumps(audit.detail)

    # As after an operator's suspension: the cardholder's tokens stop, the e-cards stay bound
    # and show the card suspended, a new issuance is refused.
    info = web.get("/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 401
    status = web.get(f"/api/v1/ecards/{bank_sign_no}", headers=bank_headers).json
    assert status["status"] == "active" and status["card"]["status"] == "suspended"
    again = issue_body(provider, "bank", idempotency_key="req-bank-0002")
    refused = web.post("/api/v1/ecards", json=again, headers=bank_headers)
    assert_problem(refused, 409, "card-not-usable")

    face = {"factor": "face", "face_verified_at": provider.now() - 5}
    resumed = web.post(card_path(bank_sign_no, "resume"), json=face, headers=bank_headers)
    assert resumed.status_code == 200, resumed.json
    assert resumed.json["changed"] is True
    assert resumed.json["card"]["status"] == "normal"
    assert resumed.json["card"]["suspended_until"] is None
    assert history(provider)[-1] == ("normal", bank.client_id, "face")
    assert set(notices(provider, "card.resumed")) == {wechat.client_id, bank.client_id}


def test_retries_answer_the_current_state_without_a_second_event(
    provider: Any, web: Any, cardholder: Any
) -> None:
    _, headers, sign_no = issued(provider, web, "alipay")
    first = web.post(card_path(sign_no, "suspend"), json=PIN, headers=headers).json
    retry = web.post(card_path(sign_no, "suspend"), json=PIN, headers=headers)
    assert retry.status_code == 200
    assert retry.json == {**first, "changed": False}
    assert len(history(provider)) == 1 and len(notices(provider, "card.suspended")) == 1
    web.post(card_path(sign_no, "resume"), json=PIN, headers=headers)
    again = web.post(card_path(sign_no, "resume"), json=PIN, headers=headers)
    assert again.status_code == 200 and again.json["changed"] is False
    assert [e[0] for e in history(provider)] == ["suspended", "normal"]


def test_a_wrong_pin_counts_toward_the_lockout_and_changes_nothing(
    provider: Any, web: Any, cardholder: Any
) -> None:
    _, headers, sign_no = issued(provider, web, "wechat")
    wrong = {"factor": "pin", "pin": "000000"}
    for _ in range(provider.settings.pin_max_failures - 1):
        response = web.post(card_path(sign_no, "suspend"), json=wrong, headers=headers)
        assert_problem(response, 403, "factor-failed")
    with provider.db.read() as s:
        person = s.get(Person, cardholder["person_id"])
        assert person is not None
        assert person.pin_failures == provider.settings.pin_max_failures - 1
    locked = web.post(card_path(sign_no, "suspend"), json=wrong, headers=headers)
    assert_problem(locked, 423, "pin-locked")
    assert_problem(
        web.post(card_path(sign_no, "suspend"), json=PIN, headers=headers), 423, "pin-locked"
    )
    assert history(provider) == [] and notices(provider, "card.suspended") == {}


def test_only_through_the_channel_s_own_active_e_card(
    provider: Any, web: Any, cardholder: Any
) -> None:
    _, headers, sign_no = issued(provider, web, "wechat")
    _, other_headers, _ = issued(provider, web, "alipay")
    for path in (card_path(sign_no, "suspend"), card_path(CARD["card_number"], "suspend")):
        assert_problem(web.post(path, json=PIN, headers=other_headers), 404, "ecard-not-found")
    unbind = web.post(f"/api/v1/ecards/{sign_no}/unbind", json=PIN, headers=headers)
    assert unbind.status_code == 200
    refused = web.post(card_path(sign_no, "suspend"), json=PIN, headers=headers)
    assert_problem(refused, 409, "ecard-not-active")
    assert history(provider) == []


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"factor": "pin"}, 422, "invalid-request"),
        ({"factor": "pin", "pin": "12345"}, 422, "invalid-request"),
        ({"factor": "face", "face_verified_at": 1_000_000_000}, 422, "stale-face-check"),
        ({"factor": "sms", "code": "1234"}, 422, "invalid-request"),
        ({**PIN, "card_number": CARD["card_number"]}, 422, "invalid-request"),
        ([PIN], 422, "invalid-request"),
    ],
)
def test_bad_bodies_write_nothing(
    provider: Any, web: Any, cardholder: Any, body: Any, status: int, slug: str
) -> None:
    _, headers, sign_no = issued(provider, web, "unionpay")
    assert_problem(
        web.post(card_path(sign_no, "suspend"), json=body, headers=headers), status, slug
    )
    raw = web.post(
        card_path(sign_no, "suspend"),
        data=b"\xff",
        headers=headers,
        content_type="application/json",
    )
    assert_problem(raw, 400, "malformed-json")
    assert history(provider) == []


@pytest.mark.parametrize("final", ["cancelled", "replaced"])
def test_a_final_card_is_refused(provider: Any, web: Any, cardholder: Any, final: str) -> None:
    _, headers, sign_no = issued(provider, web, "wechat")
    set_card(provider, cardholder["person_id"], status=final)
    for action in ("suspend", "resume"):
        refused = web.post(card_path(sign_no, action), json=PIN, headers=headers)
        assert assert_problem(refused, 409, "card-not-usable")["card_status"] == final
    assert history(provider) == []


def test_a_lapsed_suspension_reads_as_normal(
    provider: Any, web: Any, clock: Any, cardholder: Any
) -> None:
    channel, headers, sign_no = issued(provider, web, "wechat")
    web.post(card_path(sign_no, "suspend"), json=PIN, headers=headers)
    clock.advance(provider.settings.suspension_seconds + 1)
    headers = bearer(web, channel)  # the first token expired long ago
    queried = web.get(f"/api/v1/ecards/{sign_no}", headers=headers).json
    assert queried["card"]["status"] == "normal"  # the status query reads the lapse too
    resumed = web.post(card_path(sign_no, "resume"), json=PIN, headers=headers)
    assert resumed.json["changed"] is False and resumed.json["card"]["status"] == "normal"
    suspended = web.post(card_path(sign_no, "suspend"), json=PIN, headers=headers)
    assert suspended.json["changed"] is True
    # The lapse is recorded first (by system), then the channel's new suspension.
    assert history(provider)[1:] == [
        ("normal", "system", "system"),
        ("suspended", channel.client_id, "pin"),
    ]


def test_native_signed_suspension(provider: Any, web: Any, cardholder: Any) -> None:
    channel = native_channel(provider, "wechat", "wechatpay-v3")
    sign = signer(provider, channel.client_id, "wechatpay-v3")
    body = json.dumps(issue_body(provider, "wechat")).encode()
    made = signed_post(web, sign, "/api/v1/ecards", body)
    assert made.status_code == 201, made.json
    path = card_path(made.json["sign_no"], "suspend")
    done = signed_post(web, sign, path, json.dumps(PIN).encode())
    assert done.status_code == 200 and done.json["card"]["status"] == "suspended"
    with provider.db.read() as s:
        card = s.scalar(select(SocialSecurityCard))
        assert card is not None and card.status == "suspended"


def test_simultaneous_channel_and_operator_suspensions_serialize(
    provider: Any, app: Any, web: Any, cardholder: Any
) -> None:
    if not provider.settings.database_url.startswith("postgresql"):
        pytest.skip("row locks need PostgreSQL")
    _, headers, sign_no = issued(provider, web, "wechat")
    issued(provider, web, "bank")
    barrier = threading.Barrier(6)
    answers: list[Any] = []

    def by_channel() -> None:
        client = app.test_client()
        barrier.wait()
        answers.append(client.post(card_path(sign_no, "suspend"), json=PIN, headers=headers))

    def by_operator() -> None:
        barrier.wait()
        try:
            with provider.unit_of_work() as uow:
                actor = cards.Actor("op-0042", "counter")
                answers.append(provider.cards.change(uow, "suspend", CARD["card_number"], actor))
        except cards.TransitionRefused as exc:
            answers.append(exc)

    threads = [threading.Thread(target=by_channel) for _ in range(4)]
    threads += [threading.Thread(target=by_operator) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    http = [a for a in answers if not isinstance(a, (cards.CardChange, cards.TransitionRefused))]
    assert len(answers) == 6 and all(a.status_code == 200 for a in http), answers
    changed = [a for a in http if a.json["changed"]]
    changed += [a for a in answers if isinstance(a, cards.CardChange)]
    assert len(changed) == 1 and len(history(provider)) == 1
    assert len(notices(provider, "card.suspended")) == 2


def test_hostile_requests_are_problems(provider: Any, web: Any, cardholder: Any) -> None:
    _, headers, sign_no = issued(provider, web, "wechat")
    path = card_path(sign_no, "suspend")
    assert_problem(web.get(path, headers=headers), 405, "http-error")
    for junk in ("%00" * 43, "%ED%B3%BF" + "a" * 42, "x" * 500, CARD["card_number"]):
        refused = web.post(card_path(junk, "suspend"), json=PIN, headers=headers)
        assert_problem(refused, 404, "ecard-not-found")
    as_form = web.post(path, data={"factor": "pin", "pin": CARD["pin"]}, headers=headers)
    assert_problem(as_form, 415, "unsupported-media-type")
    huge = b'{"factor": "pin", "pin": "' + b"1" * (provider.settings.max_request_bytes + 1) + b'"}'
    oversized = web.post(path, data=huge, headers=headers, content_type="application/json")
    assert_problem(oversized, 413, "body-too-large")
    duplicated = b'{"factor": "face", "factor": "pin", "pin": "802413"}'
    answered = web.post(path, data=duplicated, headers=headers, content_type="application/json")
    assert_problem(answered, 400, "malformed-json")  # I-JSON: a repeated name is refused
    unauthenticated = web.post(path, json=PIN)
    assert_problem(unauthenticated, 401, "unauthorized")
