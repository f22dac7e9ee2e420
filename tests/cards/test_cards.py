"""Card lifecycle (``idp.cards.lifecycle``, issue 3 section 4): the transition table, automatic
lifting on the injected clock, replacement, what is written in the caller's transaction, what a
suspension does to sign-in and tokens, and the ``essc cards`` commands; on every configured
backend."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func
from sqlalchemy import select

from idp.cards import lifecycle as cards
from idp.cli import main
from idp.ecards.requests import parse_issue
from idp.store.ecards import CardEvent
from idp.store.ecards import ECard
from idp.store.ecards import OutboxMessage
from idp.store.people import SocialSecurityCard
from idp.store.people import status_at
from idp.store.security import AuditEvent
from tests.ecard_helpers import FAMILIES
from tests.ecard_helpers import add_channel
from tests.ecard_helpers import channel_of
from tests.ecard_helpers import issue_body
from tests.ecard_helpers import set_card
from tests.support import CARD
from tests.support import authorize_params
from tests.support import basic
from tests.support import exchange
from tests.support import obtain_code
from tests.support import pkce_pair
from tests.support import sign_in

OPERATOR = cards.Actor("op-0042", "counter")
NEW_NUMBER = "B00000002"
ALLOWED = {
    ("normal", "suspend"): "suspended",
    ("suspended", "resume"): "normal",
    ("normal", "cancel"): "cancelled",
    ("suspended", "cancel"): "cancelled",
    ("normal", "replace"): "replaced",
    ("suspended", "replace"): "replaced",
}
STATUSES = ("normal", "suspended", "cancelled", "replaced")
ACTIONS = ("suspend", "resume", "cancel", "replace")


# -- helpers -------------------------------------------------------------------------------------
def change(
    provider: Any,
    action: str,
    number: str = CARD["card_number"],
    who: cards.Actor = OPERATOR,
    **extra: Any,
) -> cards.CardChange:
    with provider.unit_of_work() as uow:
        return _change(provider, uow, action, number, who, **extra)


def _change(
    provider: Any, uow: Any, action: str, number: str, who: cards.Actor, **extra: Any
) -> cards.CardChange:
    if action == "replace":
        extra.setdefault("new_card_number", NEW_NUMBER)
    result: cards.CardChange = provider.cards.change(uow, action, number, who, **extra)
    return result


def issue(provider: Any, family: str, **changes: Any) -> tuple[str, str]:
    """An active e-card in a channel of ``family``: (client_id, sign_no)."""
    registered = add_channel(provider, family)
    body = parse_issue(issue_body(provider, family, **changes))
    with provider.unit_of_work() as uow:
        issued = provider.ecards.issue(uow, channel_of(provider, registered.client_id), body)
    return registered.client_id, issued.sign_no


def rows(provider: Any) -> dict[str, Any]:
    """Everything a card change writes."""
    with provider.db.read() as s:
        return {
            "cards": sorted(
                (c.card_number, c.status) for c in s.scalars(select(SocialSecurityCard))
            ),
            "events": s.scalar(select(func.count()).select_from(CardEvent)),
            "audit": s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.event.like("card.%"))
            ),
            "outbox": s.scalar(select(func.count()).select_from(OutboxMessage)),
            "ecards": sorted((e.sign_no, e.card_id, e.status) for e in s.scalars(select(ECard))),
        }


def card(provider: Any, number: str = CARD["card_number"]) -> SocialSecurityCard:
    with provider.db.read() as s:
        row: SocialSecurityCard | None = s.scalar(
            select(SocialSecurityCard).where(SocialSecurityCard.card_number == number)
        )
        assert row is not None
        s.expunge(row)
        return row


def outbox(provider: Any) -> list[OutboxMessage]:
    with provider.db.read() as s:
        found = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        s.expunge_all()
        return found


def try_sign_in(web: Any, portal: Any, credential: str = CARD["card_number"]) -> int:
    _, challenge = pkce_pair()
    query = authorize_params(portal, challenge, prompt="login")
    location = web.get("/authorize", query_string=query).headers["Location"]
    return int(sign_in(web, location, credential=credential).status_code)


# -- the transition table ------------------------------------------------------------------------
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", ACTIONS)
def test_transition_table(provider: Any, cardholder: Any, status: str, action: str) -> None:
    until = provider.now() + 3600 if status == "suspended" else None
    set_card(provider, cardholder["person_id"], status=status, suspended_until=until)
    before = rows(provider)
    target = ALLOWED.get((status, action))
    if target is None:
        with pytest.raises(cards.TransitionRefused) as refused:
            change(provider, action)
        assert refused.value.reason and "None" not in refused.value.reason
        assert rows(provider) == before, "a refused transition writes nothing"
        return
    done = change(provider, action)
    assert (done.from_status, done.to_status) == (status, target)
    assert card(provider).status == target
    after = rows(provider)
    assert (after["events"], after["audit"]) == (before["events"] + 1, before["audit"] + 1)


@pytest.mark.parametrize(
    ("status", "action", "reason"),
    [
        ("replaced", "resume", "a replacement was requested; 解挂 is possible only before 补换"),
        ("cancelled", "resume", "the card is cancelled; that is final"),
        ("cancelled", "suspend", "the card is cancelled; that is final"),
        (
            "normal",
            "resume",
            "the card is not suspended (a lapsed suspension has lifted by itself)",
        ),
        ("suspended", "suspend", "the card is already suspended"),
    ],
)
def test_refusals_say_why(
    provider: Any, cardholder: Any, status: str, action: str, reason: str
) -> None:
    until = provider.now() + 3600 if status == "suspended" else None
    set_card(provider, cardholder["person_id"], status=status, suspended_until=until)
    with pytest.raises(cards.TransitionRefused) as refused:
        change(provider, action)
    assert refused.value.reason == reason


def test_a_refusal_writes_nothing_even_if_the_caller_commits(
    provider: Any, cardholder: Any
) -> None:
    issue(provider, "wechat")
    change(provider, "replace")
    before = rows(provider)
    with provider.unit_of_work() as uow, pytest.raises(cards.TransitionRefused):
        _change(provider, uow, "resume", CARD["card_number"], OPERATOR)
    assert rows(provider) == before


def test_everything_is_written_in_the_callers_transaction(provider: Any, cardholder: Any) -> None:
    issue(provider, "wechat")
    issue(provider, "alipay")
    before = rows(provider)

    class Later(Exception):
        pass

    with pytest.raises(Later), provider.unit_of_work() as uow:
        _change(provider, uow, "suspend", CARD["card_number"], OPERATOR)
        raise Later
    assert rows(provider) == before, "rolled back together"
    done = change(provider, "suspend")
    after = rows(provider)
    assert (after["events"], after["audit"]) == (before["events"] + 1, before["audit"] + 1)
    assert after["outbox"] == before["outbox"] + 2 == before["outbox"] + len(done.notified)


@pytest.mark.parametrize(
    ("actor", "factor"),
    [
        ("op-1", "password"),
        ("op-1", "system"),
        ("system", "counter"),
        ("", "pin"),
        ("x" * 65, "pin"),
    ],
)
def test_actor_and_factor_are_checked(actor: str, factor: str) -> None:
    with pytest.raises(cards.CardLifecycleError):
        cards.Actor(actor, factor)


def test_unknown_card_number(provider: Any, cardholder: Any) -> None:
    for number in ("Z99999999", "bad\x00number", "1"):
        with pytest.raises(cards.CardNotFound), provider.unit_of_work() as uow:
            provider.cards.change(uow, "suspend", number, OPERATOR)


# -- what a change records and sends -------------------------------------------------------------
def test_event_audit_and_one_notification_per_channel(provider: Any, cardholder: Any) -> None:
    wechat, wechat_sign_no = issue(provider, "wechat")
    bank, bank_sign_no = issue(provider, "bank")
    done = change(provider, "suspend", who=cards.Actor(wechat, "face"))
    now = provider.now()
    assert done.suspended_until == now + provider.settings.suspension_seconds == 7 * 24 * 3600 + now
    with provider.db.read() as s:
        [event] = s.scalars(select(CardEvent))
        [audit] = s.scalars(select(AuditEvent).where(AuditEvent.event == "card.suspended"))
    assert (event.from_status, event.to_status, event.actor, event.factor, event.at) == (
        "normal",
        "suspended",
        wechat,
        "face",
        now,
    )
    assert audit.actor == wechat and audit.person_id == cardholder["person_id"]
    assert audit.detail["factor"] == "face" and audit.detail["card_number_masked"] == "A0*****01"
    messages = outbox(provider)[-2:]
    assert {(m.client_id, m.payload["sign_no"]) for m in messages} == {
        (wechat, wechat_sign_no),
        (bank, bank_sign_no),
    }
    assert {m.delivery_id for m in messages} == set(done.notified)
    for m in messages:
        assert m.event == "card.suspended" and m.ordering_key == card(provider).id
        assert m.payload == {
            "sign_no": m.payload["sign_no"],
            "card_number_masked": "A0*****01",
            "status": "suspended",
            "at": now,
            "suspended_until": done.suspended_until,
        }


def test_no_payload_or_audit_detail_holds_a_full_number(provider: Any, cardholder: Any) -> None:
    issue(provider, "alipay")
    change(provider, "suspend")
    change(provider, "resume")
    change(provider, "replace")
    change(provider, "cancel", number=NEW_NUMBER)
    with provider.db.read() as s:
        details = [a.detail for a in s.scalars(select(AuditEvent))]
    written = json.dumps([m.payload for m in outbox(provider)] + details)
    for secret in (CARD["id_number"], CARD["card_number"], NEW_NUMBER):
        assert secret not in written


# -- automatic lifting ---------------------------------------------------------------------------
def test_a_suspension_lifts_itself_on_read_and_by_the_lifter(
    provider: Any, web: Any, clock: Any, cardholder: Any, portal: Any
) -> None:
    client_id, sign_no = issue(provider, "unionpay")
    change(provider, "suspend")
    clock.advance(provider.settings.suspension_seconds - 1)
    assert status_at(card(provider), provider.now()) == "suspended"
    assert try_sign_in(web, portal) == 403
    clock.advance(1)
    assert card(provider).status == "suspended", "the lifter has not run"
    assert status_at(card(provider), provider.now()) == "normal"
    assert try_sign_in(web, portal) == 303, "reads do not wait for the lifter"
    with provider.unit_of_work() as uow:
        [lifted] = provider.cards.lift_expired(uow)
    assert (lifted.actor, lifted.factor, lifted.to_status) == ("system", "system", "normal")
    assert card(provider).status == "normal" and card(provider).suspended_until is None
    last = outbox(provider)[-1]
    assert (last.event, last.client_id, last.payload["sign_no"]) == (
        "card.resumed",
        client_id,
        sign_no,
    )
    with provider.unit_of_work() as uow:
        assert provider.cards.lift_expired(uow) == []


def test_the_lifter_leaves_running_suspensions(provider: Any, clock: Any, cardholder: Any) -> None:
    change(provider, "suspend")
    clock.advance(60)
    with provider.unit_of_work() as uow:
        assert provider.cards.lift_expired(uow) == []
    assert card(provider).status == "suspended"


def test_suspending_after_a_lapse_records_the_lift_first(
    provider: Any, clock: Any, cardholder: Any
) -> None:
    change(provider, "suspend")
    clock.advance(provider.settings.suspension_seconds + 5)
    done = change(provider, "suspend")
    assert done.suspended_until == provider.now() + provider.settings.suspension_seconds
    with provider.db.read() as s:
        trail = [(e.from_status, e.to_status, e.actor) for e in s.scalars(select(CardEvent))]
    assert trail == [
        ("normal", "suspended", "op-0042"),
        ("suspended", "normal", "system"),
        ("normal", "suspended", "op-0042"),
    ]


def test_an_operator_may_resume_a_lapsed_suspension(
    provider: Any, clock: Any, cardholder: Any
) -> None:
    change(provider, "suspend")
    clock.advance(provider.settings.suspension_seconds + 5)
    assert change(provider, "resume").from_status == "suspended"


# -- replacement ---------------------------------------------------------------------------------
def test_replacement_moves_active_ecards_and_stops_the_old_number(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    _, superseded = issue(provider, "wechat")
    wechat = outbox(provider)[-1].client_id
    services_issue = issue(provider, "alipay")
    with provider.db.transaction() as s:  # a second issuance in WeChat supersedes the first
        row = s.get(ECard, superseded)
        assert row is not None
        row.status = "superseded"
    old = card(provider)
    done = change(provider, "replace", who=cards.Actor("op-7", "face"))
    new = card(provider, NEW_NUMBER)
    assert (done.to_status, done.new_card_number_masked) == ("replaced", "B0*****02")
    assert card(provider).replaced_by == new.id
    assert (new.status, new.person_id, new.production_stage) == (
        "normal",
        old.person_id,
        "collected",
    )
    with provider.db.read() as s:
        placed = {e.sign_no: e.card_id for e in s.scalars(select(ECard))}
    assert placed == {superseded: old.id, services_issue[1]: new.id}
    [message] = [m for m in outbox(provider) if m.event == "card.replaced"]
    assert message.client_id == services_issue[0] != wechat
    assert message.ordering_key == old.id, "after the old card's earlier messages"
    assert message.payload["new_card_number_masked"] == "B0*****02"
    assert message.payload["status"] == "replaced"
    assert try_sign_in(web, portal) == 401, "the old number stops"
    assert try_sign_in(web, portal, credential=NEW_NUMBER) == 303
    assert try_sign_in(web, portal, credential=CARD["id_number"]) == 303


def test_replacement_refuses_a_taken_or_malformed_number(provider: Any, cardholder: Any) -> None:
    from tests.support import add_cardholder

    add_cardholder(provider, id_number="110105198001010016", card_number="C00000003")
    before = rows(provider)
    for number, reason in [
        ("C00000003", "the new card number is taken"),
        ("A00000001", "the new card number is taken"),
        ("B-1", "new card number: card number must be 6 to 20 letters and digits"),
    ]:
        with pytest.raises(cards.CardLifecycleError) as refused:
            change(provider, "replace", new_card_number=number)
        assert refused.value.reason == reason
    with pytest.raises(cards.CardLifecycleError):
        change(provider, "replace", production_stage="lost")
    assert rows(provider) == before


def test_a_replacement_made_in_production(provider: Any, cardholder: Any) -> None:
    change(provider, "replace", production_stage="producing")
    progress = cards.production_progress(card(provider, NEW_NUMBER))
    assert progress.as_json() == {
        "stage": "producing",
        "label": "制卡中",
        "step": 2,
        "steps": 4,
        "updated_at": provider.now(),
        "done": False,
    }


@pytest.mark.parametrize("stage", cards.PRODUCTION_STAGES)
def test_production_progress(stage: str) -> None:
    row = SocialSecurityCard(production_stage=stage, production_updated_at=5)
    progress = cards.production_progress(row)
    assert progress.stage == stage and progress.label == cards.PRODUCTION_LABELS[stage]
    assert progress.done is (stage == "collected")
    assert progress.step == cards.PRODUCTION_STAGES.index(stage) + 1


def test_production_progress_refuses_an_unknown_stage() -> None:
    with pytest.raises(cards.CardLifecycleError):
        cards.production_progress(SocialSecurityCard(production_stage="lost"))


# -- the key flow --------------------------------------------------------------------------------
def introspect(web: Any, portal: Any, token: str) -> dict[str, Any]:
    auth = basic(portal.client_id, portal.client_secret)
    body: dict[str, Any] = web.post("/introspect", data={"token": token}, headers=auth).json
    return body


def userinfo(web: Any, token: str) -> int:
    return int(web.get("/userinfo", headers={"Authorization": f"Bearer {token}"}).status_code)


@pytest.mark.parametrize("family", FAMILIES)
def test_suspension_stops_sign_in_and_tokens_until_resumed(
    provider: Any, web: Any, cardholder: Any, portal: Any, family: str
) -> None:
    client_id, sign_no = issue(provider, family)
    code, verifier = obtain_code(web, portal)
    tokens = exchange(web, portal, code, verifier).json
    assert introspect(web, portal, tokens["access_token"])["active"] is True
    assert userinfo(web, tokens["access_token"]) == 200

    change(provider, "suspend", who=cards.Actor(client_id, "face"))
    assert try_sign_in(web, portal) == 403
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert introspect(web, portal, token) == {"active": False}
    assert userinfo(web, tokens["access_token"]) == 401
    refreshed = web.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(portal.client_id, portal.client_secret),
    )
    assert refreshed.json["error"] == "invalid_grant"
    notice = outbox(provider)[-1]
    assert (notice.client_id, notice.event, notice.payload["sign_no"]) == (
        client_id,
        "card.suspended",
        sign_no,
    )

    change(provider, "resume", who=cards.Actor("op-0042", "sms"))
    assert try_sign_in(web, portal) == 303
    code, verifier = obtain_code(web, portal)
    fresh = exchange(web, portal, code, verifier).json
    assert userinfo(web, fresh["access_token"]) == 200
    assert userinfo(web, tokens["access_token"]) == 401, "a resume brings nothing back"
    assert outbox(provider)[-1].event == "card.resumed"


def test_cancellation_stops_everything_for_good(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    code, verifier = obtain_code(web, portal)
    tokens = exchange(web, portal, code, verifier).json
    change(provider, "cancel")
    assert introspect(web, portal, tokens["refresh_token"]) == {"active": False}
    assert userinfo(web, tokens["access_token"]) == 401
    assert try_sign_in(web, portal) == 403
    assert try_sign_in(web, portal, credential=CARD["id_number"]) == 403


def test_replacement_ends_what_the_old_card_signed_into(
    provider: Any, web: Any, cardholder: Any, portal: Any
) -> None:
    code, verifier = obtain_code(web, portal)
    tokens = exchange(web, portal, code, verifier).json
    change(provider, "replace")
    assert introspect(web, portal, tokens["refresh_token"]) == {"active": False}
    assert userinfo(web, tokens["access_token"]) == 401


# -- the operator commands -----------------------------------------------------------------------
def essc(provider: Any, *args: str) -> tuple[int, str, str]:
    env = {
        "ESSC_DATABASE_URL": provider.settings.database_url,
        "ESSC_REDIS_URL": provider.settings.redis_url,
        "ESSC_INSTANCE_DIR": provider.settings.instance_dir,
        "ESSC_ENV": None,
        "ESSC_KEY_PASSPHRASE": None,
    }
    result = CliRunner().invoke(main, ["cards", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_cli_suspend_resume_replace_cancel(provider: Any, cardholder: Any) -> None:
    who = ("--actor", "op-0042", "--factor", "counter")
    code, out, _ = essc(provider, "suspend", "--card-number", "a00000001", *who)
    suspended = json.loads(out)
    assert code == 0 and suspended["to_status"] == "suspended"
    assert suspended["card_number_masked"] == "A0*****01" and suspended["factor"] == "counter"
    assert json.loads(essc(provider, "resume", "--card-number", "A00000001", *who)[1])[
        "to_status"
    ] == ("normal")
    code, out, _ = essc(
        provider, "replace", "--card-number", "A00000001", "--new-card-number", NEW_NUMBER, *who
    )
    assert code == 0 and json.loads(out)["new_card_number_masked"] == "B0*****02"
    assert CARD["card_number"] not in out and NEW_NUMBER not in out
    code, out, err = essc(provider, "resume", "--card-number", "A00000001", *who)
    assert code == 1 and out == "" and "解挂 is possible only before 补换" in err
    code, out, _ = essc(provider, "cancel", "--card-number", NEW_NUMBER, *who)
    assert code == 0 and json.loads(out)["to_status"] == "cancelled"


def test_cli_refuses_bad_factors_and_unknown_cards(provider: Any, cardholder: Any) -> None:
    code, out, err = essc(
        provider, "suspend", "--card-number", "A00000001", "--actor", "op", "--factor", "email"
    )
    assert code == 1 and out == "" and err.startswith("Error: factor must be one of")
    code, _, err = essc(
        provider, "cancel", "--card-number", "Z99999999", "--actor", "op", "--factor", "pin"
    )
    assert code == 1 and err.strip() == "Error: no card has this number"
    assert card(provider).status == "normal"


def test_cli_lift_expired(provider: Any, cardholder: Any) -> None:
    set_card(provider, cardholder["person_id"], status="suspended", suspended_until=1)
    code, out, _ = essc(provider, "lift-expired")
    [lifted] = json.loads(out)["lifted"]
    assert code == 0 and (lifted["actor"], lifted["to_status"]) == ("system", "normal")
    assert json.loads(essc(provider, "lift-expired")[1]) == {"lifted": []}


# -- concurrency (PostgreSQL) --------------------------------------------------------------------
def race(provider: Any, attempts: list[dict[str, Any]], action: str) -> list[Any]:
    """Every attempt in its own thread and transaction, released together."""
    barrier = threading.Barrier(len(attempts))
    results: list[Any] = [None] * len(attempts)

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            results[i] = change(provider, action, **attempts[i])
        except cards.CardLifecycleError as exc:
            results[i] = exc

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("action", ["suspend", "replace"])
def test_simultaneous_changes_to_one_card_serialize(
    provider: Any, cardholder: Any, action: str
) -> None:
    if not provider.settings.database_url.startswith("postgresql"):
        pytest.skip("row locks need PostgreSQL")
    issue(provider, "wechat")
    issue(provider, "bank")
    attempts = [
        {"new_card_number": f"N0000000{i}"} if action == "replace" else {} for i in range(8)
    ]
    results = race(provider, attempts, action)
    won = [r for r in results if isinstance(r, cards.CardChange)]
    lost = [r for r in results if isinstance(r, cards.TransitionRefused)]
    assert len(won) == 1 and len(lost) == 7
    after = rows(provider)
    assert (after["events"], after["audit"]) == (1, 1)
    assert len([m for m in outbox(provider) if m.event.startswith("card.")]) == 2
    assert len(after["cards"]) == (2 if action == "replace" else 1)
