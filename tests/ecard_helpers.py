"""Helpers for the e-card tests: channels of each family, issue bodies, row counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func
from sqlalchemy import select

from channels.kinds import ChannelKind
from idp.channel_auth.caller import Channel
from idp.store.channels import ChannelRow
from idp.store.ecards import ECard
from idp.store.ecards import OutboxMessage
from idp.store.people import SocialSecurityCard
from idp.store.security import AuditEvent
from tests.support import CARD
from tests.support import basic
from tests.support import register

VECTORS = Path(__file__).resolve().parent / "vectors" / "channels"
FAMILIES = ("wechat", "alipay", "unionpay", "bank")
SUBJECTS = {
    "wechat": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    "alipay": "2088102146225135",
    "unionpay": "6216610200016587010",
    "bank": "CUST-000123456",
}


def channel_key() -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(
        (VECTORS / "TEST-ONLY-channel-rsa2048.pem").read_bytes(), password=None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def add_channel(provider: Any, kind: str, *, scope: str | None = None, **columns: Any) -> Any:
    """A channel server using client credentials with ``essc.ecard`` (and payment for banks)."""
    payment = " essc.payment" if kind in ("unionpay", "bank") else ""
    registered = register(
        provider,
        kind=kind,
        grant_types=("client_credentials",),
        redirect_uris=(),
        scope=scope or f"essc.ecard{payment}",
    )
    if columns:
        with provider.db.transaction() as s:
            row = s.get(ChannelRow, registered.client_id)
            for name, value in columns.items():
                setattr(row, name, value)
        provider.clients.forget(registered.client_id)
    return registered


def channel_of(provider: Any, client_id: str) -> Channel:
    with provider.db.read() as s:
        row = s.get(ChannelRow, client_id)
        assert row is not None
        return Channel(row.client_id, ChannelKind(row.kind), frozenset(row.scopes))


def bearer(web: Any, registered: Any, scope: str = "essc.ecard") -> dict[str, str]:
    response = web.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": scope},
        headers=basic(registered.client_id, registered.client_secret),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def issue_body(provider: Any, family: str = "wechat", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": CARD["name"],
        "id_number": CARD["id_number"],
        "region_code": CARD["region_code"],
        "channel_subject": SUBJECTS[family],
        "evidence": {"real_name_level": 3, "face_verified_at": provider.now() - 5},
        "level": 1,
        "idempotency_key": f"req-{family}-0001",
    }
    body.update(changes)
    return body


def set_card(provider: Any, person_id: str, **columns: Any) -> None:
    with provider.db.transaction() as s:
        card = s.scalar(select(SocialSecurityCard).where(SocialSecurityCard.person_id == person_id))
        assert card is not None
        for name, value in columns.items():
            setattr(card, name, value)


def counts(provider: Any) -> dict[str, int]:
    """Rows that any e-card write touches: a refused request must leave all of them alone."""
    with provider.db.read() as s:
        return {
            "ecards": s.scalar(select(func.count()).select_from(ECard)) or 0,
            "active": s.scalar(
                select(func.count()).select_from(ECard).where(ECard.status == "active")
            )
            or 0,
            "outbox": s.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
            "audit": s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.event.like("ecard.%"))
            )
            or 0,
        }


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.json
    assert body["type"].endswith(f"/problems/{slug}") and body["status"] == status
    assert body["request_id"]
    return body


def enveloped(response: Any) -> dict[str, Any] | None:
    """The ``*_response`` value of an Alipay gateway answer, or None for a plain answer."""
    body = response.get_json(silent=True) or {}
    found = [value for key, value in body.items() if key.endswith("_response")]
    return found[0] if found else None


def accepted(response: Any, status: int) -> dict[str, Any]:
    """The answer of a successful call, plain (with its status) or in the gateway envelope."""
    value = enveloped(response)
    if value is None:
        assert response.status_code == status, response.get_data(as_text=True)
        return dict(response.json)
    assert response.status_code == 200 and value["code"] == "10000", value
    return value


def refused(response: Any, status: int, slug: str) -> dict[str, Any]:
    """The problem of a refusal, plain RFC 7807 or inside the gateway envelope."""
    value = enveloped(response)
    if value is None:
        return assert_problem(response, status, slug)
    assert response.status_code == 200 and value["code"] != "10000", value
    assert value["status"] == status and value["type"].endswith("/problems/" + slug), value
    return value
