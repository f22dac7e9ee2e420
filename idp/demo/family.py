"""The family story's demo channel for ``make run`` (issue 11 "Done when"): an e-card app
(kind ``app``, the code flow, allowed token exchange) in which 张三 (the father,
``idp.demo.data.DEMO_CARDHOLDERS[0]``) and his daughter 张小红 both hold e-cards. The two phone
pages (``/demo/family/daughter`` and ``/demo/family/father``, ``idp.demo.family_phone``) play
this app on the two phones; the hospital scanner is ``docs/examples/hospital.py``.

Development only, like ``idp.demo.wallet``. The app's client secret and its EC key (the stand-in
for the app server's key that signs channel assertions, docs/channel-assertion.md) are kept in
``instance/demo-family.json`` (mode 0600).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from channels.client import TOKEN_EXCHANGE
from channels.kinds import ChannelKind
from channels.registration import validate_metadata
from idp.channel_admin.clients import add_client
from idp.channel_auth.caller import Channel
from idp.demo.wallet import HOLDER
from idp.demo.wallet import _write_after
from idp.ecards.requests import parse_issue
from idp.provider import Provider
from idp.store.channels import ChannelRow
from idp.store.people import SocialSecurityCard
from idp.store.unit_of_work import UnitOfWork
from keys.jwk import public_jwk

FAMILY_FILE = "demo-family.json"
KID = "demo-family-1"
CALLBACK = "/demo/family/callback"
#: The daughter, a fourth demo cardholder (a valid GB 11643 number, born 1978, female).
DAUGHTER = {"name": "张小红", "id_number": "110105197803150024", "region_code": "110105"}
DAUGHTER_CARD = "A00000004"
PIN = "802413"


def seed_family(p: Provider, uow: UnitOfWork) -> str:
    """Idempotent: the daughter is enrolled once; the app is registered again only when the
    server's address changed (its redirect URI is on the issuer)."""
    _enrol_daughter(p, uow)
    path = Path(p.settings.instance_dir) / FAMILY_FILE
    redirect = p.issuer + CALLBACK
    if path.exists():
        saved = _load(path)
        if saved["redirect_uri"] == redirect and uow.session.get(ChannelRow, saved["client_id"]):
            return _lines(p)
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**public_jwk(key.public_key()), "kid": KID, "use": "sig", "alg": "ES256"}
    metadata = validate_metadata(
        name="示例亲情服务 App Demo family app",
        kind="app",
        grant_types=["authorization_code", "refresh_token", TOKEN_EXCHANGE],
        auth_method="client_secret_basic",
        redirect_uris=[redirect],
        scopes=["openid essc.ecard"],
        jwks={"keys": [jwk]},
        allow_http_loopback=not p.settings.production,
    )
    row, secret = add_client(uow.session, metadata, p.secret_hash, now=p.now())
    channel = Channel(row.client_id, ChannelKind.APP, frozenset({"essc.ecard"}))
    sign_nos = {
        "father": _ecard(p, uow, channel, HOLDER, "DEMO-FAMILY-FATHER"),
        "daughter": _ecard(p, uow, channel, DAUGHTER, "DEMO-FAMILY-DAUGHTER"),
    }
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    saved = {
        "client_id": row.client_id,
        "client_secret": secret,
        "redirect_uri": redirect,
        "sign_nos": sign_nos,
        "key": pem,
    }
    _write_after(uow, path, saved)
    return _lines(p)


def _enrol_daughter(p: Provider, uow: UnitOfWork) -> None:
    found = uow.session.scalar(
        select(SocialSecurityCard.id).where(SocialSecurityCard.card_number == DAUGHTER_CARD)
    )
    if found is None:
        p.cardholders.enrol(uow, **DAUGHTER, card_number=DAUGHTER_CARD, pin=PIN)


def _ecard(
    p: Provider, uow: UnitOfWork, channel: Channel, holder: dict[str, str], subject: str
) -> str:
    body = {
        **holder,
        "channel_subject": subject,
        "evidence": {"real_name_level": 3, "face_verified_at": p.now() - 5},
        "level": 1,
        "idempotency_key": f"{subject.lower()}-{channel.client_id}",
    }
    return p.ecards.issue(uow, channel, parse_issue(body)).sign_no


def _lines(p: Provider) -> str:
    return "\n".join(
        [
            "Demo family app ready (亲情服务).",
            f"  Daughter's phone (张小红, card {DAUGHTER_CARD}, PIN {PIN}): "
            f"{p.issuer}/demo/family/daughter",
            f"  Father's phone (张三, card A00000001, PIN 802413): {p.issuer}/demo/family/father",
            "  Hospital scanner: .venv/bin/python docs/examples/hospital.py --help",
        ]
    )


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def family_app(p: Provider) -> dict[str, Any]:
    return _load(Path(p.settings.instance_dir) / FAMILY_FILE)


def assertion(p: Provider, who: str, verified_by: str = "face") -> str:
    """A fresh channel assertion for ``who``'s e-card, as the app's server signs once it has
    verified them (here: the phone page's button stands for the face check)."""
    app = family_app(p)
    key: Any = serialization.load_pem_private_key(app["key"].encode("ascii"), password=None)
    now = p.now()
    claims = {
        "iss": app["client_id"],
        "aud": p.issuer,
        "sub": app["sign_nos"][who],
        "iat": now,
        "exp": now + 120,
        "auth_time": now,
        "verified_by": verified_by,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": KID})
