"""OpenID Connect Back-Channel Logout 1.0 (idp.logout.backchannel, idp.logout.logout_token): the
logout token as a portal validates it (2.6, ``tests.logout.relying_party``), the sessions'
clients, and delivery through the outbox to two live portals, one failing its first attempt.
Real HTTP on 127.0.0.1; time is a fake clock; SQLite and PostgreSQL when configured."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from sqlalchemy import func
from sqlalchemy import select

from idp.logout.logout_token import LOGOUT_EVENT
from idp.logout.logout_token import LogoutTokenSigner
from idp.notifications import RequestsTransport
from idp.notifications.leases import listing
from idp.notifications.signers import Envelope
from idp.provider import Provider
from idp.store.ecards import OutboxMessage
from idp.store.grants import SessionClient
from tests.logout.relying_party import BACKCHANNEL_LOGOUT
from tests.logout.relying_party import Refused
from tests.logout.relying_party import token_of
from tests.logout.relying_party import validate
from tests.notification_receiver import Receiver
from tests.notification_receiver import serving
from tests.support import authorize_params
from tests.support import basic
from tests.support import exchange
from tests.support import obtain_code
from tests.support import pkce_pair
from tests.support import register


@pytest.fixture
def transport() -> Iterator[RequestsTransport]:
    client = RequestsTransport(connect_timeout=2, read_timeout=5, trust_env=False)
    yield client
    client.close()


def _tokens(web: Any, rp: Any, **extra: str) -> dict[str, Any]:
    code, verifier = obtain_code(web, rp, **extra)
    response = exchange(web, rp, code, verifier)
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def _claims(id_token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(id_token, options={"verify_signature": False})
    return claims


def _sso(web: Any, rp: Any) -> dict[str, Any]:
    """Into a second portal on the same session: no sign-in page on the way (OIDC Core 3.1.2.3)."""
    _, challenge = pkce_pair()
    first = web.get("/authorize", query_string=authorize_params(rp, challenge))
    assert not first.headers["Location"].endswith("/signin"), first.headers["Location"]
    return _tokens(web, rp)


def _outbox(provider: Provider) -> list[OutboxMessage]:
    with provider.db.read() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


# -- the logout token ------------------------------------------------------------------------
def _signed(provider: Provider, now: int, **payload: str) -> str:
    signer = LogoutTokenSigner(
        provider.sign, issuer=provider.issuer, alg="ES256", subject=lambda c, p: f"sub-{p}"
    )
    envelope = Envelope("d-1", "rp-1", LOGOUT_EVENT, {"sid": "s-1", "person_id": "p-1"}, now)
    out = signer.sign(envelope, now)
    assert out.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    return token_of(out.body)


def test_a_logout_token_passes_a_portals_checks(provider: Provider, web: Any) -> None:
    now = provider.now()
    token = _signed(provider, now)
    jwks = web.get("/jwks.json").json
    claims = validate(
        token, jwks=jwks, issuer=provider.issuer, client_id="rp-1", seen=set(), now=now
    )
    assert claims == {
        "iss": provider.issuer,
        "aud": "rp-1",
        "iat": now,
        "exp": now + 120,
        "jti": "d-1",
        "sub": "sub-p-1",
        "sid": "s-1",
        "events": {BACKCHANNEL_LOGOUT: {}},
    }
    assert jwt.get_unverified_header(token)["typ"] == "logout+jwt"


def _forged(provider: Provider, now: int, **change: Any) -> str:
    claims = jwt.decode(_signed(provider, now), options={"verify_signature": False})
    claims.update(change)
    return provider.sign({k: v for k, v in claims.items() if v is not None}, "ES256", "logout+jwt")


@pytest.mark.parametrize(
    ("make", "step"),
    [
        (lambda p, now: _forged(p, now, aud="another-rp"), "jwt: InvalidAudienceError"),
        (lambda p, now: _forged(p, now, iss="https://evil.example"), "jwt: InvalidIssuerError"),
        (lambda p, now: _forged(p, now, exp=now), "exp"),
        (lambda p, now: _forged(p, now, sub=None, sid=None), "sub or sid"),
        (lambda p, now: _forged(p, now, events={"urn:other": {}}), "events"),
        (lambda p, now: _forged(p, now, events={BACKCHANNEL_LOGOUT: "x"}), "events"),
        (lambda p, now: _forged(p, now, nonce="n"), "nonce"),
        (lambda p, now: p.sign({"aud": "rp-1", "iss": p.issuer}, "ES256", "JWT"), "typ"),
        (lambda p, now: _signed(p, now)[:-6] + "AAAAAA", "jwt: InvalidSignatureError"),
    ],
)
def test_a_portal_refuses_what_2_6_refuses(
    provider: Provider, web: Any, make: Any, step: str
) -> None:
    """Each check of the portal's validator can fail, so a token it accepts passed them all."""
    now = provider.now()
    with pytest.raises(Refused, match=f"^{step}$"):
        validate(
            make(provider, now),
            jwks=web.get("/jwks.json").json,
            issuer=provider.issuer,
            client_id="rp-1",
            seen=set(),
            now=now,
        )


def test_a_second_copy_and_another_alg_are_refused(provider: Provider, web: Any) -> None:
    now, jwks, seen = provider.now(), web.get("/jwks.json").json, set[str]()
    token = _signed(provider, now)
    validate(token, jwks=jwks, issuer=provider.issuer, client_id="rp-1", seen=seen, now=now)
    with pytest.raises(Refused, match=r"^replay$"):
        validate(token, jwks=jwks, issuer=provider.issuer, client_id="rp-1", seen=seen, now=now)
    with pytest.raises(Refused, match=r"^alg$"):
        validate(
            token,
            jwks=jwks,
            issuer=provider.issuer,
            client_id="rp-1",
            alg="PS256",
            seen=seen,
            now=now,
        )


# -- registration and discovery ---------------------------------------------------------------
def test_discovery_advertises_back_channel_logout(web: Any) -> None:
    metadata = web.get("/.well-known/openid-configuration").json
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True


@pytest.mark.parametrize(
    "uri",
    ["http://rp.example/bcl", "https://rp.example/bcl#x", "/bcl", "https://u:p@rp.example/", ""],
)
def test_backchannel_logout_uris_are_checked(provider: Provider, uri: str) -> None:
    from channels.registration import InvalidClientMetadata

    with pytest.raises(InvalidClientMetadata, match="backchannel_logout_uri"):
        register(provider, backchannel_logout_uri=uri)


def test_the_metadata_is_stored_on_the_channel(provider: Provider) -> None:
    rp = register(
        provider,
        backchannel_logout_uri="https://rp.example/bcl?tenant=1",
        backchannel_logout_session_required=True,
    )
    client = provider.clients.get(rp.client_id)
    assert client is not None
    assert client.backchannel_logout_uri == "https://rp.example/bcl?tenant=1"
    assert client.backchannel_logout_session_required is True


# -- which clients a session reached ----------------------------------------------------------
def test_a_session_remembers_each_client_once(
    web: Any, provider: Provider, cardholder: Any, portal: Any
) -> None:
    other = register(provider)
    for rp in (portal, portal, other):
        obtain_code(web, rp)
    with provider.db.read() as s:
        rows = s.execute(select(SessionClient.sid, SessionClient.client_id)).all()
    assert len({sid for sid, _ in rows}) == 1
    assert sorted(c for _, c in rows) == sorted([portal.client_id, other.client_id])


# -- delivery ---------------------------------------------------------------------------------
def test_two_live_portals_each_get_one_valid_token_one_after_a_retry(
    web: Any, provider: Provider, cardholder: Any, clock: Any, transport: RequestsTransport
) -> None:
    with serving(Receiver(fail_first=1)) as flaky, serving(Receiver()) as steady:
        a = register(provider, backchannel_logout_uri=flaky.url)
        b = register(provider, backchannel_logout_uri=steady.url, subject_type="public")
        silent = register(provider)  # reached by the session, no back-channel URI: nothing sent
        tokens = {a: _tokens(web, a), b: _sso(web, b), silent: _sso(web, silent)}
        hint = tokens[a]["id_token"]
        assert web.get("/logout", query_string={"id_token_hint": hint}).status_code == 200

        deliverer = provider.deliverer(transport)
        first = deliverer.drain()
        assert (first.delivered, first.failed) == (1, 1)
        _check_received(web, provider, b, steady, tokens[b], now=int(clock()))
        clock.advance(3600)
        assert deliverer.drain().delivered == 1
        _check_received(web, provider, a, flaky, tokens[a], now=int(clock()))
        assert len(flaky.requests) == 2 and len(steady.requests) == 1
        # The retry is a fresh token for the same logout: the same jti, a later iat.
        retry, original = (
            jwt.decode(token_of(r.body), options={"verify_signature": False})
            for r in reversed(flaky.requests)
        )
        assert retry["jti"] == original["jti"] and retry["iat"] > original["iat"]
    assert {m.client_id for m in _outbox(provider)} == {a.client_id, b.client_id}
    with provider.db.read() as s:
        states = listing(s, max_attempts=20)
    assert [m["state"] for m in states] == ["delivered", "delivered"]
    _refresh_is_over(web, a, tokens[a])


def _check_received(
    web: Any, provider: Provider, rp: Any, receiver: Receiver, tokens: dict[str, Any], now: int
) -> None:
    """Exactly one accepted copy, valid at the time it came, for the session of the ID token."""
    [got] = receiver.accepted()
    assert got.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    logout = validate(
        token_of(got.body),
        jwks=web.get("/jwks.json").json,
        issuer=provider.issuer,
        client_id=rp.client_id,
        seen=set(),
        now=now,
    )
    id_token = _claims(tokens["id_token"])
    assert (logout["sid"], logout["sub"]) == (id_token["sid"], id_token["sub"])


def _refresh_is_over(web: Any, rp: Any, tokens: dict[str, Any]) -> None:
    """The session's refresh tokens ended with it (docs/api.md, "Back-channel logout")."""
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    refreshed = web.post("/token", data=form, headers=basic(rp.client_id, rp.client_secret))
    assert refreshed.status_code == 400 and refreshed.json["error"] == "invalid_grant"


def test_a_suspended_card_logs_its_sessions_out(
    web: Any, provider: Provider, cardholder: Any
) -> None:
    from idp.cards.lifecycle import Actor

    rp = register(provider, backchannel_logout_uri="https://rp.example/bcl")
    sid = _claims(_tokens(web, rp)["id_token"])["sid"]
    with provider.unit_of_work() as uow:
        provider.cards.change(uow, "suspend", cardholder["card_number"], Actor("op-1", "counter"))
    [message] = [m for m in _outbox(provider) if m.event == LOGOUT_EVENT]
    assert (message.client_id, message.payload["sid"]) == (rp.client_id, sid)


def test_a_session_end_that_rolls_back_queues_nothing(
    web: Any, provider: Provider, cardholder: Any
) -> None:
    from idp.logout.service import end_session
    from idp.store.grants import BrowserSession

    rp = register(provider, backchannel_logout_uri="https://rp.example/bcl")
    _tokens(web, rp)
    with pytest.raises(RuntimeError), provider.db.transaction() as s:
        row = s.scalars(select(BrowserSession)).one()
        assert end_session(s, row, now=provider.now(), client_id=None)
        raise RuntimeError("the request failed after the logout")
    assert _outbox(provider) == []
    obtain_code(web, rp, prompt="none")  # the session lives on
    with provider.db.read() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
