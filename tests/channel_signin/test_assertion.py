"""The channel assertion verifier against real keys and the database's single-use jti set."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from channels.client import Client
from channels.kinds import ChannelKind
from idp.channel_signin.assertion import AssertionRejected
from idp.channel_signin.assertion import ChannelAssertionVerifier
from idp.interaction.assurance import ACR_CHANNEL_REALNAME
from idp.interaction.assurance import ACR_FACE
from idp.oauth.client_keys import ClientKeyCache
from idp.store.database import Database
from idp.store.expiring import SqlExpiringSet
from tests.support import FakeClock

ISSUER = "https://essc.example"
KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())


def _jwks(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="ES256")
    return {"keys": [jwk]}


def _channel(client_id: str, key: ec.EllipticCurvePrivateKey) -> Client:
    return Client(
        client_id=client_id,
        name=client_id,
        kind=ChannelKind.APP,
        status="active",
        redirect_uris=(),
        grant_types=frozenset({"client_credentials"}),
        scopes=frozenset(),
        token_endpoint_auth_method="private_key_jwt",
        secret_hash=None,
        jwks=_jwks(key),
        jwks_uri=None,
        sector_identifier="app.example",
        subject_type="pairwise",
        id_token_signed_response_alg="ES256",
        rotate_refresh_tokens=True,
    )


CHANNELS = {"app-1": _channel("app-1", KEY), "app-2": _channel("app-2", OTHER_KEY)}


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def verifier(db: Database, clock: FakeClock) -> ChannelAssertionVerifier:
    return ChannelAssertionVerifier(
        ISSUER, CHANNELS.get, ClientKeyCache(), SqlExpiringSet(db, "cha", clock), clock
    )


def _claims(clock: FakeClock, **over: Any) -> dict[str, Any]:
    now = int(clock())
    claims: dict[str, Any] = {
        "iss": "app-1",
        "aud": ISSUER,
        "sub": "SN0001",
        "iat": now,
        "exp": now + 120,
        "auth_time": now - 10,
        "verified_by": "realname",
        "jti": uuid.uuid4().hex,
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(claims: dict[str, Any], key: Any = KEY, alg: str = "ES256") -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": "k1"})


def test_a_good_assertion_names_the_channel_the_card_and_the_level(
    verifier: ChannelAssertionVerifier, clock: FakeClock
) -> None:
    got = verifier.verify(_sign(_claims(clock)))
    assert (got.channel_id, got.sign_no, got.assurance.acr) == (
        "app-1",
        "SN0001",
        ACR_CHANNEL_REALNAME,
    )
    face = verifier.verify(_sign(_claims(clock, verified_by="face")))
    assert face.assurance.acr == ACR_FACE and face.assurance.amr == ("face",)


def test_a_replayed_assertion_is_rejected(
    verifier: ChannelAssertionVerifier, clock: FakeClock
) -> None:
    token = _sign(_claims(clock))
    verifier.verify(token)
    with pytest.raises(AssertionRejected, match="replayed"):
        verifier.verify(token)


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"aud": "https://elsewhere.example"}, "wrong audience"),
        ({"exp": 1}, "expired"),
        ({"exp": 10**12, "iat": 10**12 - 60}, "future"),
        ({"verified_by": "sms"}, "verified_by"),
        ({"jti": None}, "invalid"),
        ({"iss": "app-9"}, "unknown channel"),
    ],
)
def test_bad_claims_are_rejected(
    verifier: ChannelAssertionVerifier, clock: FakeClock, over: dict[str, Any], reason: str
) -> None:
    with pytest.raises(AssertionRejected, match=reason):
        verifier.verify(_sign(_claims(clock, **over)))


def test_a_long_lived_assertion_is_rejected(
    verifier: ChannelAssertionVerifier, clock: FakeClock
) -> None:
    now = int(clock())
    with pytest.raises(AssertionRejected, match="5 minutes"):
        verifier.verify(_sign(_claims(clock, iat=now - 10, exp=now + 300)))


def test_another_channels_key_or_a_shared_secret_does_not_verify(
    verifier: ChannelAssertionVerifier, clock: FakeClock
) -> None:
    with pytest.raises(AssertionRejected, match="signature"):
        verifier.verify(_sign(_claims(clock), OTHER_KEY))
    with pytest.raises(AssertionRejected, match="alg"):
        verifier.verify(_sign(_claims(clock), "s" * 32, "HS256"))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(token=st.text(max_size=300))
def test_hostile_text_is_rejected_never_raised(
    verifier: ChannelAssertionVerifier, token: str
) -> None:
    with pytest.raises(AssertionRejected):
        verifier.verify(token)
