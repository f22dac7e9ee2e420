"""``private_key_jwt`` (RFC 7523 2.2, 3; OIDC Core 9) end to end through the token endpoint, and
the ``jti`` replay cache underneath it on SQL and, when configured, Redis."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from idp.provider import Provider
from idp.store.expiring import RedisExpiringSet
from idp.store.expiring import SqlExpiringSet
from keys.jwk import public_jwk
from keys.jwk import thumbprint
from tests.conftest import REDIS_URL
from tests.support import FakeClock
from tests.support import register

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Merchant:
    """A merchant terminal holding its own EC P-256 key; the provider has only the public JWK."""

    def __init__(self, provider: Provider) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        jwk = public_jwk(self.key.public_key())
        self.kid = thumbprint(jwk)
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "ES256"}]}
        self.client_id = register(
            provider,
            auth_method="private_key_jwt",
            jwks=self.jwks,
            grant_types=("client_credentials",),
            redirect_uris=(),
            kind="merchant",
            scope="essc.qr.verify",
        ).client_id
        self.clock = provider.clock
        self.issuer = provider.issuer

    def assertion(
        self, *, key: Any = None, headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        now = int(self.clock())
        body: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.issuer,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(16),
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(
            body, key or self.key, algorithm="ES256", headers={"kid": self.kid, **(headers or {})}
        )


def token_request(web: Any, assertion: str, **extra: str) -> Any:
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        **extra,
    }
    return web.post("/token", data=data)


@pytest.fixture
def merchant(provider: Provider) -> Merchant:
    return Merchant(provider)


def assert_invalid_client(response: Any) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.json["error"] == "invalid_client"
    assert "WWW-Authenticate" not in response.headers or "Basic" not in response.headers.get(
        "WWW-Authenticate", ""
    )


@pytest.mark.parametrize("audience", ["issuer", "token endpoint", "list with issuer"])
def test_a_correct_assertion_gets_a_token(
    provider: Provider, web: Any, merchant: Merchant, audience: str
) -> None:
    aud: Any = {
        "issuer": provider.issuer,
        "token endpoint": f"{provider.issuer}/token",
        "list with issuer": ["https://elsewhere.example", provider.issuer],
    }[audience]
    response = token_request(web, merchant.assertion(aud=aud))
    assert response.status_code == 200, response.json
    claims = provider.keyring.verify(
        response.json["access_token"], typ="at+jwt", audience=provider.issuer
    )
    assert claims["client_id"] == merchant.client_id == claims["sub"]
    assert claims["scope"] == "essc.qr.verify"


def test_client_id_parameter_must_match(web: Any, merchant: Merchant) -> None:
    ok = token_request(web, merchant.assertion(), client_id=merchant.client_id)
    assert ok.status_code == 200
    mismatch = token_request(web, merchant.assertion(), client_id="someone-else")
    assert mismatch.status_code == 400 and mismatch.json["error"] == "invalid_request"


def test_the_same_jti_twice_is_refused(web: Any, merchant: Merchant) -> None:
    assertion = merchant.assertion()
    assert token_request(web, assertion).status_code == 200
    assert_invalid_client(token_request(web, assertion))
    jti = jwt.decode(assertion, options={"verify_signature": False})["jti"]
    assert_invalid_client(token_request(web, merchant.assertion(jti=jti)))


def test_jti_is_scoped_to_the_client(provider: Provider, web: Any, merchant: Merchant) -> None:
    other = Merchant(provider)
    assert token_request(web, merchant.assertion(jti="shared-jti-value")).status_code == 200
    assert token_request(web, other.assertion(jti="shared-jti-value")).status_code == 200


def test_an_expired_assertion_is_refused(
    provider: Provider, web: Any, clock: FakeClock, merchant: Merchant
) -> None:
    skew = provider.settings.clock_skew
    assertion = merchant.assertion()
    clock.advance(60 + skew)
    assert_invalid_client(token_request(web, assertion))
    now = int(clock())
    late = merchant.assertion(iat=now - 120, exp=now - skew)
    assert_invalid_client(token_request(web, late))
    within_skew = merchant.assertion(iat=now - 60, exp=now - skew + 1)
    assert token_request(web, within_skew).status_code == 200


def test_exp_too_far_in_the_future_is_refused(
    provider: Provider, web: Any, clock: FakeClock, merchant: Merchant
) -> None:
    now, max_age = int(clock()), provider.settings.client_assertion_max_age
    assert_invalid_client(token_request(web, merchant.assertion(exp=now + max_age + 1)))
    assert_invalid_client(token_request(web, merchant.assertion(exp=now + 86400 * 365)))
    assert_invalid_client(
        token_request(web, merchant.assertion(iat=now - max_age, exp=now + 10)),
    )  # lives longer than allowed, though it expires soon
    assert token_request(web, merchant.assertion(exp=now + max_age)).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"aud": "https://elsewhere.example"},
        {"aud": "http://localhost/introspect"},
        {"iss": "someone-else"},
        {"sub": "someone-else"},
        {"jti": None},
        {"jti": "short"},
        {"exp": None},
        {"aud": None},
        {"iat": 2_000_000_000},  # issued in the future
        {"nbf": 2_000_000_000},
    ],
)
def test_bad_claims_are_refused(web: Any, merchant: Merchant, change: dict[str, Any]) -> None:
    response = token_request(web, merchant.assertion(**change))
    assert response.status_code in (400, 401)
    assert response.json["error"] in ("invalid_client", "invalid_request")


def test_bad_signatures_are_refused(web: Any, merchant: Merchant) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    assert_invalid_client(token_request(web, merchant.assertion(key=stranger)))
    assert_invalid_client(token_request(web, merchant.assertion(headers={"kid": "other-kid"})))
    header, payload, _ = merchant.assertion().split(".")
    assert_invalid_client(token_request(web, f"{header}.{payload}."))
    hs256 = jwt.encode(
        jwt.decode(merchant.assertion(), options={"verify_signature": False}),
        "a-shared-secret-of-at-least-32-bytes!",
        algorithm="HS256",
    )
    assert_invalid_client(token_request(web, hs256))
    unsigned = jwt.encode(
        jwt.decode(merchant.assertion(), options={"verify_signature": False}),
        None,
        algorithm="none",
    )
    assert_invalid_client(token_request(web, unsigned))


@pytest.mark.parametrize(
    "data",
    [
        {"client_assertion_type": "urn:other"},
        {"client_assertion": ""},
        {"client_assertion": "not.a.jwt"},
    ],
)
def test_malformed_requests_are_refused(web: Any, merchant: Merchant, data: dict[str, str]) -> None:
    body = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": merchant.assertion(),
        **data,
    }
    assert_invalid_client(web.post("/token", data=body))


def test_a_secret_client_cannot_use_an_assertion(
    provider: Provider, web: Any, service: Any
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = int(provider.clock())
    assertion = jwt.encode(
        {"iss": service.client_id, "sub": service.client_id, "aud": provider.issuer,
         "exp": now + 60, "jti": secrets.token_urlsafe(16)},
        key, algorithm="ES256",
    )  # fmt: skip
    assert_invalid_client(token_request(web, assertion))


def test_only_one_authentication_method(web: Any, merchant: Merchant) -> None:
    response = token_request(web, merchant.assertion(), client_secret="x")
    assert response.status_code == 400 and response.json["error"] == "invalid_request"


# -- the replay cache itself ---------------------------------------------------------------------
def sql_set(provider: Provider, clock: FakeClock) -> SqlExpiringSet:
    return SqlExpiringSet(provider.db, f"test-{uuid.uuid4().hex[:8]}", clock)


def test_sql_expiring_set(provider: Provider, clock: FakeClock) -> None:
    replay = sql_set(provider, clock)
    expires = int(clock()) + 60
    assert not replay.contains("a")
    assert replay.add_once("a", expires)
    assert not replay.add_once("a", expires), "a replay"
    assert replay.contains("a") and not replay.contains("b")
    assert replay.add_once("b", expires)
    clock.advance(59)
    assert replay.contains("a")
    clock.advance(1)
    assert not replay.contains("a"), "forgotten at its expiry"
    assert replay.add_once("a", int(clock()) + 60), "an expired entry does not block"
    assert not replay.add_once("a", int(clock()) + 60)


def test_sql_expiring_set_purge(provider: Provider, clock: FakeClock) -> None:
    replay = sql_set(provider, clock)
    for i in range(3):
        replay.add_once(f"k{i}", int(clock()) + 10 * (i + 1))
    clock.advance(20)
    assert replay.purge() == 2
    assert replay.contains("k2") and not replay.contains("k0")


def test_sql_expiring_sets_with_different_prefixes_are_apart(
    provider: Provider, clock: FakeClock
) -> None:
    first, second = sql_set(provider, clock), sql_set(provider, clock)
    assert first.add_once("same", int(clock()) + 60)
    assert second.add_once("same", int(clock()) + 60)


@pytest.fixture
def redis_set(clock: FakeClock) -> Any:
    if not REDIS_URL:
        pytest.skip("ESSC_REDIS_URL is not set")
    replay = RedisExpiringSet(REDIS_URL, f"test-{uuid.uuid4().hex[:8]}", clock)
    yield replay
    for key in replay._redis.scan_iter(match=replay._prefix + "*"):
        replay._redis.delete(key)
    replay._redis.close()


def test_redis_expiring_set(redis_set: RedisExpiringSet, clock: FakeClock) -> None:
    expires = int(clock()) + 60
    assert not redis_set.contains("a")
    assert redis_set.add_once("a", expires)
    assert not redis_set.add_once("a", expires), "a replay"
    assert redis_set.contains("a") and not redis_set.contains("b")
    # Redis expires the key itself; its TTL is measured on the injected clock.
    ttl = redis_set._redis.ttl(redis_set._prefix + "a")
    assert 55 <= int(ttl) <= 60  # type: ignore[arg-type]


def test_redis_expiring_set_keeps_a_past_expiry_briefly(
    redis_set: RedisExpiringSet, clock: FakeClock
) -> None:
    assert redis_set.add_once("late", int(clock()) - 5)
    assert not redis_set.add_once("late", int(clock()) + 60)


def test_the_provider_uses_the_configured_backend(provider: Provider) -> None:
    replay = provider.authenticator._replay
    expected = RedisExpiringSet if provider.settings.redis_url else SqlExpiringSet
    assert isinstance(replay, expected)


class TestOnAClockBehindTheWallClock:
    """The replay cache and the deny-list judge expiry on the provider's clock, not the host's:
    on a clock years behind, entries written "now" must not look long expired."""

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock(start=1_600_000_000)

    def test_the_same_jti_twice_is_still_refused(self, web: Any, merchant: Merchant) -> None:
        assertion = merchant.assertion()
        assert token_request(web, assertion).status_code == 200
        assert_invalid_client(token_request(web, assertion))

    def test_a_revoked_access_token_stays_revoked(self, web: Any, service: Any) -> None:
        from tests.support import basic

        auth = basic(service.client_id, service.client_secret)
        token = web.post("/token", data={"grant_type": "client_credentials"}, headers=auth)
        access = token.json["access_token"]
        assert web.post("/introspect", data={"token": access}, headers=auth).json["active"]
        assert web.post("/revoke", data={"token": access}, headers=auth).status_code == 200
        assert web.post("/introspect", data={"token": access}, headers=auth).json == {
            "active": False
        }
