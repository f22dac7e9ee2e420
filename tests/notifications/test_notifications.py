"""Notifications to channels (issue 3, section 5): at least once, exactly once after dedup by
delivery id, in order per card, through a receiver that fails and a one-hour outage, signed in
each channel's scheme and checked with that scheme's own verifier. Real HTTP on 127.0.0.1; time
is a fake clock; flows run on SQLite and on PostgreSQL when configured."""

from __future__ import annotations

import itertools
import json
import random
import threading
from collections.abc import Iterator
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from channels.signing import BY_NAME
from channels.signing import ChannelKeys
from channels.signing import ChannelRequest
from channels.signing import KnownKey
from channels.signing import ReplayGuard
from channels.signing import ResourceCipher
from channels.signing import SecurityEventVerifier
from channels.signing import SignatureError
from channels.signing import UnionPayVerifier
from channels.signing import WechatPayV3Verifier
from channels.signing import rsa_sha256
from channels.signing.alipay import gateway_sign_content
from channels.signing.alipay import v3_response_content
from idp.channel_admin.channel_notification_key import set_key
from idp.events.outbox import enqueue
from idp.notifications import Backoff
from idp.notifications import ChannelSigners
from idp.notifications import Deliverer
from idp.notifications import Outcome
from idp.notifications import Policy
from idp.notifications import RequestsTransport
from idp.notifications import Transport
from idp.notifications.leases import listing
from idp.notifications.leases import next_due
from idp.notifications.leases import requeue
from idp.notifications.platform_keys import own_keys
from idp.notifications.signers import canonical_json
from idp.notifications.wiring import stored_resource_key
from idp.provider import Provider
from idp.store.channels import ChannelRow
from idp.store.ecards import OutboxMessage
from idp.store.security import DataKeyRow
from keys import UndecryptableField
from tests.notification_receiver import Receiver
from tests.notification_receiver import serving
from tests.support import FakeClock
from tests.support import register

API_V3_KEY = b"TEST-ONLY-apiv3-key-0123456789ab"
KIND = {"wechatpay-v3": "wechat", "alipay-rsa2": "alipay", "alipay-v3": "alipay"}
EVENTS = ("ecard.issued", "card.suspended", "card.resumed", "card.cancelled")


class Nonces:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def add_once(self, key: str, ttl_seconds: int) -> bool:
        fresh = key not in self.seen
        self.seen.add(key)
        return fresh


@pytest.fixture
def transport() -> Iterator[RequestsTransport]:
    client = RequestsTransport(connect_timeout=2, read_timeout=5, trust_env=False)
    yield client
    client.close()


def make_deliverer(
    provider: Provider,
    transport: Transport,
    clock: FakeClock,
    *,
    max_attempts: int = 20,
    lease_seconds: int = 60,
    platform_keys: bool = True,
) -> Deliverer:
    """Signs with the real key ring: its notification keys and the channels' stored APIv3 keys."""
    signers = ChannelSigners(
        sign_jwt=provider.sign,
        issuer=provider.issuer,
        clock=clock,
        own_keys=own_keys(provider.keyring) if platform_keys else None,
        resource_key=stored_resource_key(provider),
    )
    policy = Policy(
        max_attempts=max_attempts,
        backoff=Backoff(10, 3600, uniform=random.Random(7).random),
        lease_seconds=lease_seconds,
    )
    return Deliverer(provider.db, signers=signers, transport=transport, clock=clock, policy=policy)


def add_channel(provider: Provider, url: str, scheme: str | None = None) -> str:
    kind = KIND.get(scheme or "", "unionpay" if scheme == "unionpay" else "bank")
    client_id: str = register(provider, kind=kind).client_id
    with provider.db.transaction() as s:
        row = s.get(ChannelRow, client_id)
        assert row is not None
        row.notification_url, row.api_auth_scheme = url, scheme
    return client_id


def enqueue_cards(
    provider: Provider, client_id: str, cards: int, events: tuple[str, ...] = EVENTS
) -> dict[str, list[str]]:
    """Interleaved: every card's first event, then every card's second, ..."""
    queued: dict[str, list[str]] = {f"card-{n}": [] for n in range(cards)}
    for event in events:
        with provider.db.transaction() as s:
            for card, ids in queued.items():
                payload = {"sign_no": f"sn-{card}", "event": event, "name": "张三"}
                ids.append(
                    enqueue(
                        s,
                        client_id=client_id,
                        ordering_key=card,
                        event=event,
                        payload=payload,
                        now=provider.now(),
                    )
                )
    return queued


def run_until_done(deliverer: Deliverer, provider: Provider, clock: FakeClock) -> int:
    """Passes, jumping the fake clock to the next due time whenever nothing is due now."""
    for passes in range(10_000):
        if deliverer.run_once().claimed:
            continue
        with provider.db.read() as s:
            due = next_due(s, max_attempts=deliverer.policy.max_attempts)
        if due is None:
            return passes
        clock.now = max(clock.now, due)
    raise AssertionError("the deliverer did not finish")


def assert_in_order(receiver: Receiver, queued: dict[str, list[str]]) -> None:
    arrived = [r.delivery_id for r in receiver.accepted()]
    assert sorted(arrived) == sorted(i for ids in queued.values() for i in ids)
    for ids in queued.values():
        assert [i for i in arrived if i in ids] == ids


def states(provider: Provider, max_attempts: int = 20) -> dict[str, str]:
    with provider.db.read() as s:
        return {m["delivery_id"]: m["state"] for m in listing(s, max_attempts=max_attempts)}


def test_failing_receiver_gets_each_notification_once_in_order_per_card(
    provider: Provider, clock: FakeClock, transport: RequestsTransport
) -> None:
    with serving(Receiver(fail_first=7)) as receiver:
        client_id = add_channel(provider, receiver.url)
        queued = enqueue_cards(provider, client_id, cards=3)
        run_until_done(make_deliverer(provider, transport, clock), provider, clock)
    assert len(receiver.requests) >= 12 + 7
    assert_in_order(receiver, queued)
    assert set(states(provider).values()) == {"delivered"}


def test_a_channel_down_for_an_hour_receives_everything_afterwards_in_order(
    provider: Provider, clock: FakeClock, transport: RequestsTransport
) -> None:
    back_at = clock.now + 3600
    with serving(Receiver(down=lambda: clock.now < back_at)) as receiver:
        client_id = add_channel(provider, receiver.url)
        queued = enqueue_cards(provider, client_id, cards=3, events=EVENTS[:2])
        deliverer = make_deliverer(provider, transport, clock)
        deliverer.run_once()
        clock.advance(1800)  # more changes while the channel is still down
        later = enqueue_cards(provider, client_id, cards=3, events=EVENTS[2:])
        run_until_done(deliverer, provider, clock)
    for card, ids in later.items():
        queued[card] += ids
    assert_in_order(receiver, queued)
    assert sum(not r.accepted for r in receiver.requests) >= 3 * 5  # it kept trying meanwhile
    with provider.db.read() as s:
        rows = list(s.query(OutboxMessage))
    assert all(r.delivered_at is not None and r.delivered_at >= back_at for r in rows)
    # Backoff is capped at an hour: nothing waits more than the cap (plus a lease) after recovery.
    assert max(r.delivered_at or 0 for r in rows) <= back_at + 3600 + 60
    assert max(r.attempts for r in rows) < 20


def test_a_parked_message_blocks_its_card_until_the_operator_requeues_it(
    provider: Provider, clock: FakeClock, transport: RequestsTransport
) -> None:
    with serving(Receiver(fail_first=10**6)) as receiver:
        client_id = add_channel(provider, receiver.url)
        queued = enqueue_cards(provider, client_id, cards=1, events=EVENTS[:2])
        first, second = queued["card-0"]
        deliverer = make_deliverer(provider, transport, clock, max_attempts=3)
        run_until_done(deliverer, provider, clock)
        assert {r.delivery_id for r in receiver.requests} == {first}
        assert len(receiver.requests) == 3
        assert states(provider, 3) == {first: "parked", second: "pending"}
        with provider.db.read() as s:
            parked = listing(s, max_attempts=3, state="parked", client_id=client_id)
        assert [(m["delivery_id"], m["last_error"]) for m in parked] == [(first, "http 500")]

        receiver.fail_first = 0
        with provider.db.transaction() as s:
            assert requeue(s, first, now=provider.now(), max_attempts=3)
            assert not requeue(s, second, now=provider.now(), max_attempts=3)
        receiver.requests.clear()
        run_until_done(deliverer, provider, clock)
    assert_in_order(receiver, queued)


def test_channels_without_a_usable_target_fail_visibly(
    provider: Provider, clock: FakeClock, transport: RequestsTransport
) -> None:
    no_url = add_channel(provider, "")
    no_key = add_channel(provider, "http://127.0.0.1:9/unused", "wechatpay-v3")
    refused = add_channel(provider, "http://127.0.0.1:9/closed-port")
    for client_id in (no_url, no_key, refused):
        enqueue_cards(provider, client_id, cards=1, events=EVENTS[:1])
    deliverer = make_deliverer(provider, transport, clock, platform_keys=False)
    assert deliverer.run_once().failed == 3
    with provider.db.read() as s:
        errors = {m["client_id"]: m["last_error"] for m in listing(s, max_attempts=20)}
    assert errors == {
        no_url: "channel has no notification_url",
        no_key: "no platform key for wechatpay-v3",
        refused: "connection failed",
    }


class Stalling:
    """The first POST stalls past its lease; meanwhile another worker takes the message over."""

    def __init__(self, inner: RequestsTransport, clock: FakeClock, lease: int) -> None:
        self.inner, self.clock, self.lease = inner, clock, lease
        self.other: Deliverer | None = None

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        other, self.other = self.other, None
        if other is not None:
            self.clock.advance(self.lease + 1)
            assert other.run_once().delivered == 1
        return self.inner.post(url, headers, body)


def test_a_lease_that_runs_out_sends_a_duplicate_with_the_same_delivery_id_never_a_reorder(
    provider: Provider, clock: FakeClock, transport: RequestsTransport
) -> None:
    with serving(Receiver()) as receiver:
        client_id = add_channel(provider, receiver.url)
        queued = enqueue_cards(provider, client_id, cards=1, events=EVENTS[:2])
        first, second = queued["card-0"]
        stalling = Stalling(transport, clock, lease=60)
        slow = make_deliverer(provider, stalling, clock)
        stalling.other = make_deliverer(provider, transport, clock)
        run_until_done(slow, provider, clock)
    sent = [(r.delivery_id, r.headers["X-Essc-Attempt"]) for r in receiver.requests]
    assert sent == [(first, "2"), (first, "1"), (second, "1")]
    assert_in_order(receiver, queued)


# -- signatures, checked with each scheme's own verifier ----------------------------------------


def _one_delivery(
    provider: Provider,
    clock: FakeClock,
    transport: RequestsTransport,
    scheme: str | None,
    api_v3_key: bytes | None = None,
) -> tuple[str, str, Any]:
    provider.keyring.ensure_notification_keys()  # what `essc init` does
    with serving(Receiver()) as receiver:
        client_id = add_channel(provider, receiver.url, scheme)
        if api_v3_key is not None:  # what `essc channels notification-key` does
            with provider.db.transaction() as s:
                set_key(s, provider.keyring, client_id, api_v3_key)
        [delivery_id] = enqueue_cards(provider, client_id, cards=1, events=EVENTS[1:2])["card-0"]
        run_until_done(make_deliverer(provider, transport, clock), provider, clock)
    return client_id, delivery_id, receiver.last(delivery_id)


PAYLOAD = {"event": "card.suspended", "name": "张三", "sign_no": "sn-card-0"}


def platform_key(provider: Provider, scheme: str) -> tuple[str, rsa.RSAPublicKey]:
    """What a channel registers for us: ``essc keys notification-cert --scheme <scheme>``."""
    serial, pem = provider.keyring.notification_public_pem(scheme)
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    return serial, public


def test_jws_notifications_are_security_event_tokens_verifiable_with_the_jwks(
    provider: Provider, clock: FakeClock, transport: RequestsTransport
) -> None:
    client_id, delivery_id, got = _one_delivery(provider, clock, transport, "private_key_jwt")
    assert got.headers["Content-Type"] == "application/secevent+jwt"
    token = got.body.decode()
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "secevent+jwt"
    [jwk] = [k for k in provider.keyring.jwks()["keys"] if k["kid"] == header["kid"]]
    claims = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=[jwk["alg"]],
        audience=client_id,
        issuer=provider.issuer,
        options={"verify_iat": False},
    )
    assert claims["jti"] == delivery_id == got.headers["X-Essc-Delivery-Id"]
    assert claims["events"] == {f"{provider.issuer}/events/card.suspended": PAYLOAD}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token[:-4] + "AAAA", jwt.PyJWK(jwk).key, algorithms=[jwk["alg"]], audience=client_id
        )
    # the scheme's own Verifier, from the published JWK Set alone, agrees
    channel_side = SecurityEventVerifier(
        provider.keyring.jwks(), issuer=provider.issuer, audience=client_id
    )
    assert channel_side.verify(token) == claims
    for forged, reason in [(token[:-4] + "AAAA", "bad_signature"), ("x.y", "malformed")]:
        with pytest.raises(SignatureError, match=reason):
            channel_side.verify(forged)
    other = SecurityEventVerifier(provider.keyring.jwks(), issuer=provider.issuer, audience="c2")
    with pytest.raises(SignatureError, match="bad_signature"):
        other.verify(token)  # a SET for one channel is no SET for another


def test_wechatpay_notifications_verify_and_decrypt(
    provider: Provider, clock: FakeClock, transport: RequestsTransport
) -> None:
    _, delivery_id, got = _one_delivery(provider, clock, transport, "wechatpay-v3", API_V3_KEY)
    serial, public = platform_key(provider, "wechatpay-v3")
    channel_side = WechatPayV3Verifier(
        ChannelKeys(()),
        ReplayGuard(clock, Nonces()),
        platform_peers=ChannelKeys([KnownKey("essc", public, serial)]),
    )
    channel_side.verify_callback(got.headers, got.body)
    assert got.headers["Wechatpay-Serial"] == serial
    document = json.loads(got.body)
    assert document["id"] == delivery_id and document["resource_type"] == "encrypt-resource"
    assert document["resource"]["associated_data"] == delivery_id
    plain = ResourceCipher(API_V3_KEY).decrypt(document["resource"])
    assert json.loads(plain) == PAYLOAD
    tampered = got.body.replace(b"CARD.SUSPENDED", b"CARD.RESUMED!!")
    with pytest.raises(SignatureError, match="bad_signature"):
        channel_side.verify_callback({**got.headers, "Wechatpay-Nonce": "fresh"}, tampered)


def test_wechatpay_channels_without_an_apiv3_key_get_plain_resources(
    provider: Provider, clock: FakeClock, transport: RequestsTransport
) -> None:
    _, _, got = _one_delivery(provider, clock, transport, "wechatpay-v3")
    serial, public = platform_key(provider, "wechatpay-v3")
    channel_side = WechatPayV3Verifier(
        ChannelKeys(()),
        ReplayGuard(clock, Nonces()),
        platform_peers=ChannelKeys([KnownKey("essc", public, serial)]),
    )
    channel_side.verify_callback(got.headers, got.body)
    document = json.loads(got.body)
    assert document["resource_type"] == "plain-resource" and document["resource"] == PAYLOAD


def test_alipay_gateway_notifications_verify_with_the_notify_rule(
    provider: Provider, clock: FakeClock, transport: RequestsTransport
) -> None:
    client_id, delivery_id, got = _one_delivery(provider, clock, transport, "alipay-rsa2")
    params = dict(parse_qsl(got.body.decode(), keep_blank_values=True))
    assert params["notify_id"] == delivery_id and params["app_id"] == client_id
    assert params["sign_type"] == "RSA2" and json.loads(params["biz_content"]) == PAYLOAD
    _, public = platform_key(provider, "alipay-rsa2")
    signature = rsa_sha256.decode_base64(params["sign"])
    content = gateway_sign_content(params, notification=True).encode()
    rsa_sha256.verify(public, content, signature)
    changed = gateway_sign_content({**params, "notify_type": "card.resumed"}, notification=True)
    with pytest.raises(SignatureError, match="bad_signature"):
        rsa_sha256.verify(public, changed.encode(), signature)


def test_alipay_v3_notifications_verify_like_v3_responses(
    provider: Provider, clock: FakeClock, transport: RequestsTransport
) -> None:
    _, delivery_id, got = _one_delivery(provider, clock, transport, "alipay-v3")
    h = {k.lower(): v for k, v in got.headers.items()}
    content = v3_response_content(h["alipay-timestamp"], h["alipay-nonce"], got.body)
    signature = rsa_sha256.decode_base64(h["alipay-signature"])
    serial, public = platform_key(provider, "alipay-v3")
    rsa_sha256.verify(public, content, signature)
    assert h["alipay-sn"] == serial
    assert json.loads(got.body)["notify_id"] == delivery_id
    assert got.body == canonical_json(json.loads(got.body))


def test_unionpay_notifications_verify_with_the_acp_rule(
    provider: Provider, clock: FakeClock, transport: RequestsTransport
) -> None:
    client_id, delivery_id, got = _one_delivery(provider, clock, transport, "unionpay")
    params = dict(parse_qsl(got.body.decode(), keep_blank_values=True))
    cert_id, public = platform_key(provider, "unionpay")
    assert cert_id.isdigit()
    channel_side = UnionPayVerifier(
        ChannelKeys([KnownKey(client_id, public, cert_id)]), ReplayGuard(clock, Nonces())
    )
    request = ChannelRequest("POST", "/essc/notify", got.headers, got.body, params)
    assert channel_side.verify_request(request).serial == cert_id
    assert params["notifyId"] == delivery_id and json.loads(params["bizContent"]) == PAYLOAD
    with pytest.raises(SignatureError, match="bad_signature"):
        changed = {**params, "notifyType": "card.resumed"}
        channel_side.verify_request(ChannelRequest("POST", "/essc/notify", params=changed))


def test_the_platform_keys_stay_in_the_key_ring(provider: Provider) -> None:
    provider.keyring.ensure_notification_keys()  # the PostgreSQL test database may have them
    assert provider.keyring.ensure_notification_keys() == []  # `essc init` again: no new keys
    held = own_keys(provider.keyring)
    assert set(held) == {"wechatpay-v3", "alipay-rsa2", "alipay-v3", "unionpay-rsa"}
    for name, own in held.items():  # a serial and the ring's signing function, no key object
        assert set(vars(own)) == {"owner", "sign", "serial"}
        assert not any(isinstance(v, rsa.RSAPrivateKey) for v in vars(own).values())
        serial, public = platform_key(provider, BY_NAME[name].platform_key)
        assert own.serial == serial
        rsa_sha256.verify(public, b"message", own.sign(b"message"))
    with provider.db.read() as s:
        stored = s.scalars(select(DataKeyRow).where(DataKeyRow.purpose.like("rsa:%"))).all()
        assert sorted(r.purpose for r in stored) == [
            "rsa:alipay-rsa2",
            "rsa:alipay-v3",
            "rsa:unionpay",
            "rsa:wechatpay-v3",
        ]
        for row in stored:  # wrapped under the KEK, not a bare PKCS#8 key
            with pytest.raises(ValueError):
                serialization.load_der_private_key(row.wrapped, password=None)


def test_a_channels_apiv3_key_is_stored_encrypted_and_bound_to_the_channel(
    provider: Provider,
) -> None:
    first = add_channel(provider, "http://127.0.0.1:9/unused", "wechatpay-v3")
    second = add_channel(provider, "http://127.0.0.1:9/unused", "wechatpay-v3")
    with provider.db.transaction() as s:
        set_key(s, provider.keyring, first, API_V3_KEY)
    resource_key = stored_resource_key(provider)
    assert resource_key(first) == API_V3_KEY and resource_key(second) is None
    with provider.db.transaction() as s:
        rows = {r.client_id: r for r in s.scalars(select(ChannelRow))}
        assert API_V3_KEY not in (rows[first].notification_key_enc or b"")
        rows[second].notification_key_enc = rows[first].notification_key_enc  # copied across
    with pytest.raises(UndecryptableField):
        resource_key(second)


# -- two workers against the real PostgreSQL ----------------------------------------------------


def test_two_workers_on_postgresql_never_reorder_a_card_nor_lose_a_message(
    pg_database: str, transport: RequestsTransport
) -> None:
    from tests.conftest import _truncate
    from tests.conftest import test_settings

    _truncate(pg_database)
    clock, lock = FakeClock(), threading.Lock()
    providers = [Provider(test_settings(pg_database), clock=clock) for _ in range(2)]
    errors: list[BaseException] = []
    delivered_by: list[int] = [0, 0]
    with serving(Receiver()) as receiver:
        receiver.fail_every = 3
        client_id = add_channel(providers[0], receiver.url)
        queued = enqueue_cards(providers[0], client_id, cards=8, events=EVENTS)
        total = sum(len(ids) for ids in queued.values())

        def work(n: int, provider: Provider) -> None:
            deliverer = make_deliverer(provider, transport, clock)
            try:
                for _ in range(5000):
                    report = deliverer.run_once(batch=3)
                    delivered_by[n] += report.delivered
                    if report.claimed:
                        continue
                    with provider.db.read() as s:
                        done = (
                            s.query(OutboxMessage)
                            .filter(OutboxMessage.delivered_at.is_not(None))
                            .count()
                        )
                    if done == total:
                        return
                    with lock:
                        clock.advance(5)
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(n, p)) for n, p in enumerate(providers)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
    for p in providers:
        p.db.dispose()
    assert not errors
    assert sum(delivered_by) >= total and min(delivered_by) > 0, delivered_by
    assert_in_order(receiver, queued)
    # Stronger than first arrivals: no copy of k+1 was even sent before k was accepted.
    for ids in queued.values():
        for earlier, later in itertools.pairwise(ids):
            sent = [r.delivery_id for r in receiver.requests]
            accepted_at = next(
                n
                for n, r in enumerate(receiver.requests)
                if r.delivery_id == earlier and r.accepted
            )
            assert sent.index(later) > accepted_at


# -- the operator's commands --------------------------------------------------------------------


def test_essc_notifications_deliver_list_and_retry(provider: Provider, tmp_path: Path) -> None:
    import time

    from click.testing import CliRunner

    from idp.cli import main
    from tests.conftest import ISSUER
    from tests.conftest import REDIS_URL

    env: dict[str, str | None] = {
        "ESSC_DATABASE_URL": provider.settings.database_url,
        "ESSC_REDIS_URL": provider.settings.redis_url or REDIS_URL or None,
        "ESSC_INSTANCE_DIR": str(tmp_path),
        "ESSC_ISSUER": ISSUER,
        "ESSC_ENV": None,
        "ESSC_KEY_PASSPHRASE": None,
    }

    def essc(*args: str) -> Any:
        result = CliRunner().invoke(main, list(args), env=env)
        assert result.exit_code == 0, (result.output, result.exception)
        return json.loads(result.stdout)

    real = FakeClock(time.time())  # the command runs on the wall clock
    provider.clock = real
    with serving(Receiver()) as receiver:
        good = add_channel(provider, receiver.url, "private_key_jwt")
        broken = add_channel(provider, "")
        queued = enqueue_cards(provider, good, cards=1, events=EVENTS[:2])
        [stuck] = enqueue_cards(provider, broken, cards=1, events=EVENTS[:1])["card-0"]
        report = essc("notifications", "deliver", "--once", "--batch", "10")
    assert report == {"claimed": 3, "delivered": 2, "failed": 1, "parked": 0}
    assert_in_order(receiver, queued)
    delivered = essc("notifications", "list", "--state", "delivered", "--client-id", good)
    assert [m["delivery_id"] for m in delivered] == queued["card-0"]
    [pending] = essc("notifications", "list", "--state", "pending")
    assert pending["delivery_id"] == stuck and pending["attempts"] == 1
    assert pending["last_error"] == "channel has no notification_url"
    assert "payload" not in pending
    assert essc("notifications", "list", "--state", "parked") == []
    refused = CliRunner().invoke(main, ["notifications", "retry", stuck], env=env)
    assert refused.exit_code == 1
    assert "no parked notification" in refused.stderr


@pytest.mark.parametrize("draw", [0.0, 0.5, 0.999999])
def test_backoff_is_exponential_with_equal_jitter_and_capped(draw: float) -> None:
    backoff = Backoff(10, 3600, uniform=lambda: draw)
    for attempts in range(1, 40):
        ceiling = min(3600, 10 * 2 ** (attempts - 1))
        assert ceiling / 2 <= backoff.delay(attempts) <= ceiling
    assert backoff.delay(3, retry_after=120) == 120
    assert backoff.delay(3, retry_after=10**9) == 3600
    assert backoff.minimum_span(20) == 20_555 > 3600
    with pytest.raises(ValueError):
        Backoff(0, 10)
