"""An RP library written by someone else performs the token exchange: Authlib's requests client
(``OAuth2Session.fetch_token`` with RFC 8693's grant type, authenticating with RFC 7523
``private_key_jwt``) against the real app on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import ECKey
from werkzeug.serving import make_server

from channels.client import TOKEN_EXCHANGE
from idp.app import create_app
from idp.provider import Provider
from tests.family.helpers import ACCESS
from tests.family.helpers import Channel
from tests.family.helpers import Person
from tests.family.test_flow import active_relationship
from tests.support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """Authlib stamps its client assertion with the wall clock."""
    return FakeClock(time.time())


@pytest.fixture
def live(provider: Provider) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, create_app(provider.settings, provider=provider))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def test_authlib_exchanges_the_agents_token(
    app: Any,
    web: Any,
    live: str,
    provider: Provider,
    channel: Channel,
    father: Person,
    daughter: Person,
) -> None:
    own, rel_id, principal_ref = active_relationship(app, web, channel, daughter, father)
    pem = channel.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    session = OAuth2Session(
        client_id=channel.client_id,
        client_secret=ECKey.import_key(pem),  # Authlib reads a PEM string as an RSA key
        token_endpoint_auth_method=PrivateKeyJWT(
            provider.issuer + "/token",
            claims={"exp": provider.now() + 60},  # Authlib's default (an hour) is too long here
            headers={"kid": "k1"},
            alg="ES256",
        ),
    )
    session.trust_env = False
    token = session.fetch_token(
        live + "/token",
        grant_type=TOKEN_EXCHANGE,
        subject_token=own,
        subject_token_type=ACCESS,
        principal=principal_ref,
        scope="essc.family.view_card",
    )
    assert token["issued_token_type"] == ACCESS and token["scope"] == "essc.family.view_card"
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["sub"] == principal_ref and claims["fid"] == rel_id
    card = session.get(live + "/api/v1/family/acting/card")  # Authlib sends the bearer
    assert card.status_code == 200, card.text
    assert card.json()["acting_for"] == principal_ref
