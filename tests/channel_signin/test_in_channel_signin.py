"""In-channel sign-in through /authorize with ``login_hint_token`` (docs/channel-assertion.md):
a good assertion signs in at its level; every refusal is invalid_request at the redirect URI,
and an assertion below the request's essential acr or older than its max_age is
unmet_authentication_requirements."""

from __future__ import annotations

import secrets
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from idp.interaction.assurance import ACR_CHANNEL_REALNAME
from idp.interaction.assurance import ACR_FACE
from idp.provider import Provider
from idp.store.ecards import ECard
from idp.store.people import SocialSecurityCard
from keys.jwk import public_jwk
from tests.ecard_helpers import set_card
from tests.support import FakeClock
from tests.support import approve
from tests.support import authorize_params
from tests.support import pkce_pair
from tests.support import query_of
from tests.support import register

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Channel:
    """A channel app with its own EC key, registered for the code flow with private_key_jwt."""

    def __init__(self, provider: Provider) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        jwk = {**public_jwk(self.key.public_key()), "kid": "k1", "use": "sig", "alg": "ES256"}
        registered = register(provider, auth_method="private_key_jwt", jwks={"keys": [jwk]})
        self.client_id = registered.client_id
        self.client_secret = None
        self.redirect_uri = registered.redirect_uri
        self.provider = provider

    def sign(self, **claims: Any) -> str:
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": "k1"})

    def hint(self, sign_no: str, **over: Any) -> str:
        now = self.provider.now()
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "aud": self.provider.issuer,
            "sub": sign_no,
            "iat": now,
            "exp": now + 120,
            "auth_time": now - 10,
            "verified_by": "realname",
            "jti": secrets.token_urlsafe(16),
        }
        claims.update(over)
        return self.sign(**claims)

    def client_assertion(self) -> str:
        now = self.provider.now()
        return self.sign(
            iss=self.client_id,
            sub=self.client_id,
            aud=self.provider.issuer,
            iat=now,
            exp=now + 60,
            jti=secrets.token_urlsafe(16),
        )


def _ecard(provider: Provider, person_id: str, client_id: str, status: str = "active") -> str:
    sign_no = secrets.token_urlsafe(32)
    now = provider.now()
    with provider.db.transaction() as s:
        card = s.scalar(select(SocialSecurityCard).where(SocialSecurityCard.person_id == person_id))
        assert card is not None
        s.add(
            ECard(
                sign_no=sign_no,
                person_id=person_id,
                card_id=card.id,
                client_id=client_id,
                channel_subject="sub-" + client_id,
                level=1,
                status=status,
                evidence={},
                issued_at=now,
                updated_at=now,
            )
        )
    return sign_no


@pytest.fixture
def channel(provider: Provider) -> Channel:
    return Channel(provider)


def _authorize(web: Any, channel: Channel, token: str) -> tuple[Any, str]:
    verifier, challenge = pkce_pair()
    params = authorize_params(channel, challenge, login_hint_token=token)
    return web.get("/authorize", query_string=params), verifier


def _code(web: Any, channel: Channel, token: str) -> tuple[str, str]:
    response, verifier = _authorize(web, channel, token)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    location = response.headers["Location"]
    if location.endswith("/consent"):
        location = approve(web, location).headers["Location"]
    query = query_of(location)
    assert "code" in query, location
    return query["code"], verifier


def _id_token(web: Any, channel: Channel, code: str, verifier: str) -> dict[str, Any]:
    response = web.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": channel.redirect_uri,
            "code_verifier": verifier,
            "client_id": channel.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": channel.client_assertion(),
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    claims: dict[str, Any] = jwt.decode(
        response.json["id_token"], options={"verify_signature": False}
    )
    return claims


def _refused(response: Any, channel: Channel) -> None:
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    location = response.headers["Location"]
    assert location.startswith(channel.redirect_uri), location
    query = query_of(location)
    assert query["error"] == "invalid_request" and query["state"] == "st-123", query
    assert "code" not in query


@pytest.mark.parametrize(
    ("verified_by", "acr", "amr"),
    [("realname", ACR_CHANNEL_REALNAME, ["user"]), ("face", ACR_FACE, ["face"])],
)
def test_a_good_assertion_gives_a_code_at_the_asserted_level(
    provider: Provider,
    web: Any,
    cardholder: Any,
    channel: Channel,
    verified_by: str,
    acr: str,
    amr: list[str],
) -> None:
    sign_no = _ecard(provider, cardholder["person_id"], channel.client_id)
    code, verifier = _code(web, channel, channel.hint(sign_no, verified_by=verified_by))
    claims = _id_token(web, channel, code, verifier)
    assert claims["acr"] == acr and claims["amr"] == amr
    assert claims["auth_time"] == provider.now() - 10


def test_a_replayed_assertion_is_refused(
    provider: Provider, web: Any, cardholder: Any, channel: Channel
) -> None:
    token = channel.hint(_ecard(provider, cardholder["person_id"], channel.client_id))
    _code(web, channel, token)
    _refused(_authorize(web, channel, token)[0], channel)


def test_an_expired_assertion_is_refused(
    provider: Provider, web: Any, clock: FakeClock, cardholder: Any, channel: Channel
) -> None:
    token = channel.hint(_ecard(provider, cardholder["person_id"], channel.client_id))
    clock.advance(120 + provider.settings.clock_skew + 1)
    _refused(_authorize(web, channel, token)[0], channel)


def test_an_assertion_for_another_audience_is_refused(
    provider: Provider, web: Any, cardholder: Any, channel: Channel
) -> None:
    sign_no = _ecard(provider, cardholder["person_id"], channel.client_id)
    _refused(
        _authorize(web, channel, channel.hint(sign_no, aud="https://elsewhere.example"))[0], channel
    )


def test_another_channels_ecard_is_refused(
    provider: Provider, web: Any, cardholder: Any, channel: Channel
) -> None:
    other = Channel(provider)
    sign_no = _ecard(provider, cardholder["person_id"], other.client_id)
    _refused(_authorize(web, channel, channel.hint(sign_no))[0], channel)


def test_an_assertion_signed_by_another_channel_is_refused(
    provider: Provider, web: Any, cardholder: Any, channel: Channel
) -> None:
    other = Channel(provider)
    sign_no = _ecard(provider, cardholder["person_id"], other.client_id)
    _refused(_authorize(web, channel, other.hint(sign_no))[0], channel)


def test_an_unbound_ecard_is_refused(
    provider: Provider, web: Any, cardholder: Any, channel: Channel
) -> None:
    sign_no = _ecard(provider, cardholder["person_id"], channel.client_id, status="unbound")
    _refused(_authorize(web, channel, channel.hint(sign_no))[0], channel)


def test_a_suspended_card_is_refused(
    provider: Provider, web: Any, cardholder: Any, channel: Channel
) -> None:
    sign_no = _ecard(provider, cardholder["person_id"], channel.client_id)
    set_card(provider, cardholder["person_id"], status="suspended")
    _refused(_authorize(web, channel, channel.hint(sign_no))[0], channel)


def test_a_malformed_assertion_is_refused_not_a_500(
    provider: Provider, web: Any, cardholder: Any, channel: Channel
) -> None:
    _refused(_authorize(web, channel, "not.a.jwt")[0], channel)


def _unmet(response: Any, channel: Channel) -> None:
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    query = query_of(response.headers["Location"])
    assert query["error"] == "unmet_authentication_requirements", query
    assert "code" not in query


FACE_ESSENTIAL = '{"id_token":{"acr":{"essential":true,"values":["urn:essc:acr:face"]}}}'


def test_an_assertion_below_the_essential_acr_signs_nobody_in(
    provider: Provider, web: Any, cardholder: Any, channel: Channel
) -> None:
    sign_no = _ecard(provider, cardholder["person_id"], channel.client_id)
    _, challenge = pkce_pair()
    params = authorize_params(
        channel, challenge, login_hint_token=channel.hint(sign_no), claims=FACE_ESSENTIAL
    )
    response = web.get("/authorize", query_string=params)
    _unmet(response, channel)
    assert "essc_session" not in response.headers.get("Set-Cookie", "")


def test_a_face_assertion_meets_the_essential_face_acr(
    provider: Provider, web: Any, cardholder: Any, channel: Channel
) -> None:
    sign_no = _ecard(provider, cardholder["person_id"], channel.client_id)
    verifier, challenge = pkce_pair()
    params = authorize_params(
        channel,
        challenge,
        login_hint_token=channel.hint(sign_no, verified_by="face"),
        claims=FACE_ESSENTIAL,
    )
    location = web.get("/authorize", query_string=params).headers["Location"]
    if location.endswith("/consent"):
        location = approve(web, location).headers["Location"]
    code = query_of(location)["code"]
    assert _id_token(web, channel, code, verifier)["acr"] == ACR_FACE


def test_an_assertion_older_than_max_age_signs_nobody_in(
    provider: Provider, web: Any, cardholder: Any, channel: Channel
) -> None:
    sign_no = _ecard(provider, cardholder["person_id"], channel.client_id)
    _, challenge = pkce_pair()
    params = authorize_params(
        channel, challenge, login_hint_token=channel.hint(sign_no), max_age="5"
    )
    _unmet(web.get("/authorize", query_string=params), channel)
