"""The demo government portal: a real relying party of this provider, for ``make run``.

It uses Authlib's OAuth 2.0 client for the code flow with PKCE and verifies the ID token
against the published JWKS with PyJWT, over HTTP, like any other portal would.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import jwt
from authlib.integrations.requests_client import OAuth2Session
from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from werkzeug.wrappers import Response as BaseResponse

from idp.demo.csrf import guard
from idp.http.http import provider
from idp.interaction.i18n import text
from idp.interaction.pages import error_page

bp = guard(Blueprint("demo", __name__, url_prefix="/demo"))


def _client() -> dict[str, str]:
    path = Path(provider().settings.instance_dir) / "demo-client.json"
    loaded: dict[str, str] = json.loads(path.read_text())
    return loaded


def _oauth(state: str | None = None) -> OAuth2Session:
    c = _client()
    return OAuth2Session(
        c["client_id"],
        c["client_secret"],
        scope="openid profile essc.card",
        redirect_uri=c["redirect_uri"],
        code_challenge_method="S256",
        state=state,
        token_endpoint_auth_method="client_secret_basic",
    )


@bp.app_template_filter("pretty_json")
def pretty_json(value: Any) -> str:
    """Readable JSON for the demo page: Chinese shown as is (Jinja escapes it for HTML)."""
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


@bp.get("")
def home() -> str:
    return render_template("demo/home.html", t=text("zh-CN"), locale="zh-CN", result=None)


@bp.get("/login")
def login() -> BaseResponse:
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = _oauth().create_authorization_url(
        f"{provider().issuer}/authorize",
        code_verifier=verifier,
        nonce=nonce,
        ui_locales=request.args.get("ui_locales", "zh-CN"),
    )
    session["demo"] = {"state": state, "verifier": verifier, "nonce": nonce}
    return redirect(url, 303)


@bp.get("/callback")
def callback() -> BaseResponse | str:
    pending = session.pop("demo", None)
    p = provider()
    # A citizen's page, so the plain-words error page (in 长辈版 too), never a bare string.
    if not pending or request.args.get("state") != pending["state"]:
        return error_page("expired", 400, locale="zh-CN")  # reloaded, or another browser's
    if request.args.get("iss") != p.issuer:  # RFC 9207 mix-up defence
        return error_page("bad_request", 400, locale="zh-CN")
    if "error" in request.args:
        return render_template(
            "demo/home.html",
            t=text("zh-CN"),
            locale="zh-CN",
            result={"error": request.args.get("error")},
        )
    oauth = _oauth(pending["state"])
    token = oauth.fetch_token(
        f"{p.issuer}/token",
        code=request.args.get("code"),
        code_verifier=pending["verifier"],
    )
    id_claims = _verify_id_token(token["id_token"], pending["nonce"])
    userinfo = oauth.get(f"{p.issuer}/userinfo", timeout=10).json()
    return render_template(
        "demo/home.html",
        t=text("zh-CN"),
        locale="zh-CN",
        result={"id_token": id_claims, "userinfo": userinfo},
    )


def _verify_id_token(id_token: str, nonce: str) -> dict[str, Any]:
    p = provider()
    signing_key = jwt.PyJWKClient(f"{p.issuer}/jwks.json").get_signing_key_from_jwt(id_token)
    claims: dict[str, Any] = jwt.decode(
        id_token,
        signing_key.key,
        algorithms=["ES256", "EdDSA", "PS256", "RS256"],
        audience=_client()["client_id"],
        issuer=p.issuer,
    )
    if claims.get("nonce") != nonce:
        raise ValueError("nonce mismatch")
    return claims
