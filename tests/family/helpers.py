"""The family tests' world: an e-card channel allowed token exchange (its own EC key, so it can
sign channel assertions and client assertions), cardholders with valid GB 11643 numbers, their
own access tokens from the real code flow, and e-cards to consent with."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from channels.client import TOKEN_EXCHANGE
from idp.cardholders.gb11643 import check_character
from idp.provider import Provider
from idp.store.ecards import ECard
from idp.store.people import SocialSecurityCard
from keys.jwk import public_jwk
from tests.support import approve
from tests.support import authorize_params
from tests.support import basic
from tests.support import pkce_pair
from tests.support import query_of
from tests.support import register
from tests.support import sign_in

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
PIN = "802413"
PREFIX = "/api/v1/family"


def id_number(born: str, seq: str = "001", region: str = "110105") -> str:
    first = region + born + seq
    return first + check_character(first)


@dataclass
class Person:
    name: str
    id_number: str
    card_number: str
    person_id: str


def person(provider: Provider, n: int, *, born: str = "19600101", name: str = "") -> Person:
    number = id_number(born, f"{n:03d}")
    card = f"A{n:08d}"
    with provider.unit_of_work() as uow:
        row = provider.cardholders.enrol(
            uow,
            name=name or "王" + chr(0x4E00 + 0x100 + n),
            id_number=number,
            region_code="110105",
            card_number=card,
            pin=PIN,
        )
        return Person(row.name, number, card, row.id)


class Channel:
    """An e-card app channel: code flow, private_key_jwt, and (by default) token exchange."""

    def __init__(
        self, provider: Provider, *, exchange: bool = True, auth: str = "private_key_jwt"
    ) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        jwk = {**public_jwk(self.key.public_key()), "kid": "k1", "use": "sig", "alg": "ES256"}
        grants = ("authorization_code", "refresh_token") + ((TOKEN_EXCHANGE,) if exchange else ())
        registered = register(
            provider,
            kind="app",
            grant_types=grants,
            auth_method=auth,
            scope="openid essc.ecard",
            jwks={"keys": [jwk]},
        )
        self.client_id = registered.client_id
        self.client_secret = registered.client_secret
        self.redirect_uri = registered.redirect_uri
        self.provider = provider

    def sign(self, **claims: Any) -> str:
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": "k1"})

    def client_auth(self) -> dict[str, str]:
        """Client authentication's form parameters: an RFC 7523 client assertion, or none when
        the channel uses a secret (sent in ``headers()``, RFC 6749 2.3.1)."""
        if self.client_secret is not None:
            return {}
        now = self.provider.now()
        assertion = self.sign(
            iss=self.client_id,
            sub=self.client_id,
            aud=self.provider.issuer,
            iat=now,
            exp=now + 60,
            jti=secrets.token_urlsafe(16),
        )
        return {
            "client_id": self.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }

    def headers(self) -> dict[str, str]:
        return {} if self.client_secret is None else basic(self.client_id, self.client_secret)

    def assertion(self, sign_no: str, **over: Any) -> str:
        """A channel assertion (docs/channel-assertion.md) for one of this channel's e-cards."""
        now = self.provider.now()
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "aud": self.provider.issuer,
            "sub": sign_no,
            "iat": now,
            "exp": now + 120,
            "auth_time": now - 5,
            "verified_by": "face",
            "jti": secrets.token_urlsafe(16),
        }
        claims.update(over)
        return self.sign(**claims)

    def ecard(self, who: Person) -> str:
        sign_no = secrets.token_urlsafe(32)
        now = self.provider.now()
        with self.provider.db.transaction() as s:
            card = s.scalar(
                select(SocialSecurityCard).where(SocialSecurityCard.person_id == who.person_id)
            )
            assert card is not None
            s.add(
                ECard(
                    sign_no=sign_no,
                    person_id=who.person_id,
                    card_id=card.id,
                    client_id=self.client_id,
                    channel_subject="sub-" + sign_no[:8],
                    level=1,
                    status="active",
                    evidence={},
                    issued_at=now,
                    updated_at=now,
                )
            )
        return sign_no

    def token(self, app: Any, who: Person, scope: str = "openid essc.ecard") -> str:
        """The cardholder's own access token, by the real code flow in a fresh browser."""
        web = app.test_client()
        verifier, challenge = pkce_pair()
        params = authorize_params(self, challenge, scope=scope)
        response = web.get("/authorize", query_string=params)
        location = response.headers["Location"]
        if location.endswith("/signin"):
            location = sign_in(web, location, who.card_number, PIN).headers["Location"]
        if location.endswith("/consent"):
            location = approve(web, location).headers["Location"]
        code = query_of(location)["code"]
        answer = web.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
                **self.client_auth(),
            },
            headers=self.headers(),
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        token: str = answer.json["access_token"]
        return token

    def exchange(self, web: Any, subject_token: str, principal: str, **extra: str) -> Any:
        data = {
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": subject_token,
            "subject_token_type": ACCESS,
            "principal": principal,
            **extra,
            **self.client_auth(),
        }
        form = {k: v for k, v in data.items() if v is not None}
        return web.post("/token", data=form, headers=self.headers())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token}


def ask(web: Any, token: str, principal: Person, relationship: str = "parent", **more: Any) -> Any:
    body = {
        "principal": {"id_number": principal.id_number, "name": principal.name},
        "relationship": relationship,
        **more,
    }
    return web.post(PREFIX + "/relationships", json=body, headers=bearer(token))


def consent(
    web: Any, channel: Channel, rel_id: str, sign_no: str, powers: list[str], **more: Any
) -> Any:
    body = {"assertion": channel.assertion(sign_no), "pin": PIN, "powers": powers, **more}
    return web.post(f"{PREFIX}/relationships/{rel_id}/consent", json=body)
