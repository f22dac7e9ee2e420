"""Signing in to 我的授权 and giving portals tokens, as a browser and the portals would."""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from idp.store.security import AuditEvent
from tests.support import CARD
from tests.support import basic
from tests.support import csrf_of
from tests.support import exchange
from tests.support import obtain_code

OTHER = {
    "name": "李四",
    "id_number": "440304199003078212",
    "region_code": "440304",
    "card_number": "B00000002",
    "pin": "395170",
}


def my_sign_in(web: Any, card: dict[str, str] = CARD, locale: str = "zh-CN") -> Any:
    page = web.get(f"/my/signin?ui_locales={locale}")
    return web.post(
        f"/my/signin?ui_locales={locale}",
        data={
            "csrf_token": csrf_of(page.get_data(as_text=True)),
            "credential": card["card_number"],
            "pin": card["pin"],
        },
    )


def tokens(web: Any, client: Any) -> dict[str, Any]:
    """The code flow in ``web``'s browser (its session answers, consent is given) and the
    token exchange: the portal's access and refresh tokens."""
    code, verifier = obtain_code(web, client, scope="openid profile essc.card")
    response = exchange(web, client, code, verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.json
    return body


def refresh(web: Any, client: Any, refresh_token: str) -> Any:
    return web.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        headers=basic(client.client_id, client.client_secret),
    )


def introspect(web: Any, client: Any, token: str) -> bool:
    response = web.post(
        "/introspect", data={"token": token}, headers=basic(client.client_id, client.client_secret)
    )
    assert response.status_code == 200
    return bool(response.json["active"])


def page_text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def revoke_form(web: Any, kind: str, item: str, locale: str = "zh-CN") -> Any:
    page = web.get(f"/my/authorizations?ui_locales={locale}")
    return web.post(
        f"/my/authorizations/revoke?ui_locales={locale}",
        data={"csrf_token": csrf_of(page.get_data(as_text=True)), "kind": kind, "id": item},
    )


def audit_count(provider: Any, event: str) -> int:
    with provider.db.read() as s:
        return (
            s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event == event))
            or 0
        )
