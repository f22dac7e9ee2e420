"""The family story's two phones for ``make run`` (issue 11 "Done when"; README tour): the demo
family app (``idp.demo.family``) on the daughter's phone, ``/demo/family/daughter``, and on the
father's phone, ``/demo/family/father``.

Each page is the app's server: it signs its user in by the code flow (RFC 6749 4.1 with PKCE,
``prompt=login`` so one browser can play both phones), keeps their tokens in its session, and
calls the family API, the token exchange (RFC 8693) and the pension API over HTTP as any channel
does (docs/family.md). Where the real app would verify a face, the father's page has a button
that stands for it and signs the channel assertion (docs/channel-assertion.md).

The pension certification spans both phones (the daughter starts, the father confirms with his
face, the daughter completes): the app keeps that step in ``instance/demo-family-pending.json``.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from flask import Blueprint
from flask import abort
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask_babel import gettext
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from idp.demo.csrf import guard
from idp.demo.family import assertion
from idp.demo.family import family_app
from idp.family.history import POWER_NAMES
from idp.family.rules import DEFAULT_POWERS
from idp.http.http import provider
from idp.interaction.i18n import N_
from idp.interaction.i18n import text
from idp.interaction.pages import error_page
from idp.qr import render

bp = guard(Blueprint("demo_family", __name__, url_prefix="/demo/family"))
PHONES = ("daughter", "father")
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105
PENDING_FILE = "demo-family-pending.json"
#: Refresh the phone's access token this long before it expires.
MARGIN = 30
TIMEOUT = 10


def _oauth(state: str | None = None) -> OAuth2Session:
    app = family_app(provider())
    return OAuth2Session(
        app["client_id"],
        app["client_secret"],
        scope="openid essc.ecard",
        redirect_uri=app["redirect_uri"],
        code_challenge_method="S256",
        state=state,
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106
    )


def _phone(who: str) -> str:
    if who not in PHONES:
        abort(404)
    return who


@bp.get("/<who>/login")
def login(who: str) -> BaseResponse:
    verifier = secrets.token_urlsafe(48)
    url, state = _oauth().create_authorization_url(
        provider().issuer + "/authorize", code_verifier=verifier, prompt="login"
    )
    session["family_login"] = {"state": state, "verifier": verifier, "who": _phone(who)}
    return redirect(url, 303)


@bp.get("/callback")
def callback() -> BaseResponse:
    pending = session.pop("family_login", None)
    if not pending or request.args.get("state") != pending["state"] or "code" not in request.args:
        return error_page("expired", 400, locale="zh-CN")  # the plain-words page, 长辈版 too
    token = _oauth(pending["state"]).fetch_token(
        provider().issuer + "/token",
        code=request.args["code"],
        code_verifier=pending["verifier"],
    )
    _keep(pending["who"], token)
    return redirect(f"/demo/family/{pending['who']}", 303)


def _keep(who: str, token: dict[str, Any]) -> None:
    phones = dict(session.get("family", {}))
    phones[who] = {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token"),
        "expires_at": provider().now() + int(token.get("expires_in", 0)),
    }
    session["family"] = phones


def _own(who: str) -> str | None:
    """The phone user's own access token, refreshed (RFC 6749 6) when it is about to expire."""
    held = session.get("family", {}).get(who)
    if held is None:
        return None
    if held["expires_at"] - provider().now() > MARGIN:
        token: str = held["access_token"]
        return token
    answer = requests.post(
        provider().issuer + "/token",
        data={"grant_type": "refresh_token", "refresh_token": held["refresh_token"]},
        auth=_client_auth(),
        timeout=TIMEOUT,
    )
    if answer.status_code != 200:
        session.get("family", {}).pop(who, None)
        session.modified = True
        return None
    _keep(who, answer.json())
    return _own(who)


def _client_auth() -> tuple[str, str]:
    app = family_app(provider())
    return app["client_id"], app["client_secret"]


def _api(token: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    answer = requests.request(
        method,
        provider().issuer + path,
        headers={"Authorization": "Bearer " + token},
        json=body,
        timeout=TIMEOUT,
    )
    return answer.status_code, answer.json() if answer.content else None


def _slug(status: int, body: Any) -> str:
    """A refusal's short name for the page: the problem's slug or the OAuth error."""
    if isinstance(body, dict) and isinstance(body.get("type"), str):
        return str(body["type"]).rsplit("/", 1)[-1]
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    return str(status)


def _back(who: str, message: str) -> BaseResponse:
    return redirect(f"/demo/family/{who}?m={message}", 303)


#: What a refusal means for the phone's user, in plain words (the slug stays, small, for support).
REFUSALS = {
    "signed-out": N_("您已退出登录，请重新登录。"),
    "relationship-not-found": N_("没有找到这段亲情关系，可能已经结束。"),
    "relationship-ended": N_("这段亲情关系已经结束，不能再代办。"),
    "invalid_token": N_("代办权限已失效，可能对方已结束亲情关系。"),
    "no-power": N_("您没有这项代办权限。"),
    "not-confirmed": N_("还需要对方本人刷脸确认。"),
    "too-many-relatives": N_("您添加的亲属已达上限（8 位）。"),
    "too-many-agents": N_("对方的代办亲属已达上限。"),
    "relationship-exists": N_("您已经添加过这位亲属。"),
    "principal-not-found": N_("没有找到这位亲属的社保卡，请核对姓名和身份证号码。"),
    "consent-refused": N_("确认没有成功，请核对密码后再试。"),
    "certification-refused": N_("认证没有成功，请让对方重新刷脸确认。"),
}
#: Anything else.
REFUSED = N_("这一步没有办成，请稍后再试。")


# -- the pension step that spans both phones ------------------------------------------------
def _pending_path() -> Path:
    return Path(provider().settings.instance_dir) / PENDING_FILE


def _pending() -> dict[str, Any]:
    path = _pending_path()
    loaded: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return loaded


def _save_pending(pending: dict[str, Any]) -> None:
    path = _pending_path()
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(pending, out)
    os.replace(temporary, path)  # atomic: the other phone never reads half a file


# -- pages ----------------------------------------------------------------------------------
@bp.get("/<who>")
def phone(who: str) -> str:
    who = _phone(who)
    token = _own(who)
    listed: dict[str, Any] = {"as_agent": [], "as_principal": []}
    if token is not None:
        status, body = _api(token, "GET", "/api/v1/family/relationships")
        listed = body if status == 200 else listed
    return render_template(
        f"demo/family_{who}.html",
        t=text("zh-CN"),
        locale="zh-CN",
        signed_in=token is not None,
        listed=listed,
        pending=_pending(),
        powers=POWER_NAMES,
        default_powers=DEFAULT_POWERS,
        message=request.args.get("m"),
        refusal=_refusal(request.args.get("m")),
    )


def _refusal(slug: str | None) -> str:
    return str(gettext(REFUSALS.get(slug or "", REFUSED)))


@bp.post("/daughter/ask")
def ask() -> BaseResponse:
    token = _own("daughter")
    if token is None:
        return _back("daughter", "signed-out")
    body = {
        "principal": {
            "id_number": request.form.get("id_number", "")[:32],
            "name": request.form.get("name", "")[:64],
        },
        "relationship": request.form.get("relationship", "parent"),
        "powers": [p for p in request.form.getlist("power") if p in POWER_NAMES],
    }
    status, answer = _api(token, "POST", "/api/v1/family/relationships", body)
    return _back("daughter", "asked" if status == 201 else _slug(status, answer))


def _relationship(token: str, relationship_id: str) -> dict[str, Any] | None:
    status, listed = _api(token, "GET", "/api/v1/family/relationships")
    mine = listed.get("as_agent", []) if status == 200 else []
    return next((r for r in mine if r["id"] == relationship_id), None)


def _delegated(relationship_id: str, power: str) -> tuple[str | None, str]:
    """A token acting for the principal of ``relationship_id`` with ``power``: the one this
    app got earlier while it has not expired (as a real app keeps it), else the daughter's own
    token exchanged again (RFC 8693); or None and why not."""
    kept = session.get("family_delegated", {}).get(f"{relationship_id}:{power}")
    if kept is not None and kept["expires_at"] - provider().now() > MARGIN:
        token: str = kept["token"]
        return token, "ok"
    own = _own("daughter")
    found = _relationship(own, relationship_id) if own is not None else None
    if own is None or found is None or found["state"] != "active":
        return None, "relationship-not-found"
    answer = requests.post(
        provider().issuer + "/token",
        data={
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": own,
            "subject_token_type": ACCESS_TOKEN,
            "principal": found["principal_ref"],
            "scope": "essc.family." + power,
        },
        auth=_client_auth(),
        timeout=TIMEOUT,
    )
    if answer.status_code != 200:
        return None, _slug(answer.status_code, answer.json())
    issued = answer.json()
    delegated = dict(session.get("family_delegated", {}))
    delegated[f"{relationship_id}:{power}"] = {
        "token": issued["access_token"],
        "expires_at": provider().now() + int(issued["expires_in"]),
    }
    session["family_delegated"] = delegated
    fresh: str = issued["access_token"]
    return fresh, "ok"


def _forget(relationship_id: str, power: str) -> None:
    """A refused delegated token is dropped: the next try exchanges again (and is refused
    there too once the relationship has ended)."""
    session.get("family_delegated", {}).pop(f"{relationship_id}:{power}", None)
    session.modified = True


@bp.post("/daughter/code")
def show_code() -> BaseResponse | str:
    """The father's medical code on the daughter's phone, minted with the delegated token."""
    relationship_id = request.form.get("relationship_id", "")
    delegated, why = _delegated(relationship_id, "show_medical_code")
    if delegated is None:
        return _back("daughter", why)
    status, body = _api(delegated, "POST", "/api/v1/family/acting/qr-codes", {"purpose": "medical"})
    if status != 201:
        _forget(relationship_id, "show_medical_code")
        return _back("daughter", _slug(status, body))
    code = body["codes"][0]
    own = _own("daughter")
    found = _relationship(own, relationship_id) if own is not None else None
    # segno's SVG of a code the platform just signed: no one's input reaches it.
    svg = Markup(render.svg(code["code"], 8, fluid=True).decode())  # noqa: S704
    return render_template(
        "demo/family_code.html",
        t=text("zh-CN"),
        locale="zh-CN",
        code=code,
        svg=svg,
        relationship_id=relationship_id,
        principal=found["counterpart"]["name"] if found is not None else "",
        valid_minutes=max(1, (int(code["expires_at"]) - provider().now() + 30) // 60),
    )


@bp.post("/daughter/pension/start")
def start_pension() -> BaseResponse:
    relationship_id = request.form.get("relationship_id", "")
    own = _own("daughter")
    found = _relationship(own, relationship_id) if own is not None else None
    if found is None or "pension_certification" not in found["powers"]:
        return _back("daughter", "no-power")
    pending = _pending()
    pending[relationship_id] = {"assertion": None}
    _save_pending(pending)
    return _back("daughter", "pension-started")


@bp.post("/father/pension/confirm")
def confirm_pension() -> BaseResponse:
    """The father's face, verified by his app (the button stands for it): his app signs the
    face assertion that the daughter's request will carry."""
    relationship_id = request.form.get("relationship_id", "")
    own = _own("father")
    pending = _pending()
    if own is None or relationship_id not in pending:
        return _back("father", "relationship-not-found")
    pending[relationship_id] = {"assertion": assertion(provider(), "father", "face")}
    _save_pending(pending)
    return _back("father", "pension-confirmed")


@bp.post("/daughter/pension/finish")
def finish_pension() -> BaseResponse:
    relationship_id = request.form.get("relationship_id", "")
    face = _pending().get(relationship_id, {}).get("assertion")
    if face is None:
        return _back("daughter", "not-confirmed")
    delegated, why = _delegated(relationship_id, "pension_certification")
    if delegated is None:
        return _back("daughter", why)
    status, body = _api(delegated, "POST", "/api/v1/pension/certifications", {"assertion": face})
    if status not in (200, 201):
        _forget(relationship_id, "pension_certification")
    pending = _pending()
    pending.pop(relationship_id, None)
    _save_pending(pending)
    return _back("daughter", "certified" if status in (200, 201) else _slug(status, body))


@bp.post("/father/consent")
def consent() -> BaseResponse:
    """His consent in his own channel: the app's assertion for his e-card and his PIN."""
    if _own("father") is None:
        return _back("father", "signed-out")
    relationship_id = request.form.get("relationship_id", "")
    if not relationship_id.replace("-", "").isalnum() or len(relationship_id) != 36:
        return _back("father", "relationship-not-found")
    body = {
        "assertion": assertion(provider(), "father", "face"),
        "pin": request.form.get("pin", "")[:16],
        "powers": [p for p in request.form.getlist("power") if p in POWER_NAMES],
        "valid_days": 365,
        # RFC 8693 4.4: he lets her act for him in this app only (docs/family.md "may_act").
        "may_act": {"client_id": _client_auth()[0]},
    }
    answer = requests.post(
        f"{provider().issuer}/api/v1/family/relationships/{relationship_id}/consent",
        json=body,
        timeout=TIMEOUT,
    )
    ok = answer.status_code == 200
    return _back("father", "consented" if ok else _slug(answer.status_code, answer.json()))
