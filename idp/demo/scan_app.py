"""The demo e-SSC app for ``make run``: a channel (kind ``app``, ``private_key_jwt``) holding
张三's e-card, whose phone page (``/demo/phone/scan``, ``idp.demo.scan_phone``) plays the app
side of scan-to-sign-in (docs/scan-signin.md).

Development only, like ``idp.demo.wallet``. Its EC private key is generated here and kept in
``instance/demo-scan-app.json`` (mode 0600): the demo's stand-in for the app's own server key.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from channels.kinds import ChannelKind
from channels.registration import validate_metadata
from idp.channel_admin.clients import add_client
from idp.channel_auth.caller import Channel
from idp.demo.wallet import HOLDER
from idp.demo.wallet import _write_after
from idp.ecards.requests import parse_issue
from idp.provider import Provider
from idp.store.channels import ChannelRow
from idp.store.unit_of_work import UnitOfWork
from keys.jwk import public_jwk

APP_FILE = "demo-scan-app.json"
KID = "demo-app-1"


def seed_scan_app(p: Provider, uow: UnitOfWork) -> str:
    """Idempotent: the file is written once, after the channel and e-card commit."""
    path = Path(p.settings.instance_dir) / APP_FILE
    if path.exists() and uow.session.get(ChannelRow, _load(path)["client_id"]) is not None:
        return _line(p)
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**public_jwk(key.public_key()), "kid": KID, "use": "sig", "alg": "ES256"}
    metadata = validate_metadata(
        name="示例电子社保卡应用 Demo e-SSC app",
        kind="app",
        grant_types=["client_credentials"],
        auth_method="private_key_jwt",
        redirect_uris=[],
        scopes=["essc.ecard"],
        jwks={"keys": [jwk]},
    )
    row, _ = add_client(uow.session, metadata, p.secret_hash, now=p.now())
    channel = Channel(row.client_id, ChannelKind.APP, frozenset({"essc.ecard"}))
    body = {
        **HOLDER,
        "channel_subject": "DEMO-APP-0001",
        "evidence": {"real_name_level": 3, "face_verified_at": p.now() - 5},
        "level": 1,
        "idempotency_key": "demo-scan-app-ecard-0001",
    }
    sign_no = p.ecards.issue(uow, channel, parse_issue(body)).sign_no
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    _write_after(uow, path, {"client_id": row.client_id, "sign_no": sign_no, "key": pem})
    return _line(p)


def _line(p: Provider) -> str:
    return f"  Phone page (张三's e-SSC app, scan-to-sign-in): {p.issuer}/demo/phone/scan"


def _load(path: Path) -> dict[str, str]:
    loaded: dict[str, str] = json.loads(path.read_text())
    return loaded


def app_of(p: Provider) -> dict[str, str]:
    return _load(Path(p.settings.instance_dir) / APP_FILE)


def assertion(p: Provider) -> str:
    """A fresh channel assertion for 张三, as the app's server would sign after its login."""
    app = app_of(p)
    key: Any = serialization.load_pem_private_key(app["key"].encode("ascii"), password=None)
    now = p.now()
    claims = {
        "iss": app["client_id"],
        "aud": p.issuer,
        "sub": app["sign_no"],
        "iat": now,
        "exp": now + 120,
        "auth_time": now,
        "verified_by": "realname",
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": KID})
