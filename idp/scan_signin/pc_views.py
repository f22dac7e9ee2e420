"""The PC side of scan-to-sign-in (docs/scan-signin.md "PC page"), under the interaction:

- ``GET /interaction/<id>/scan``: a new request and its QR (server-rendered SVG); sets the
  ``essc_scan`` cookie that binds it to this browser (the one shown before stops).
- ``GET /interaction/<id>/scan/status``: its state as JSON, for ``/static/scan.js``.
- ``POST /interaction/<id>/scan/complete``: an approved request, redeemed once in this
  browser, starts the session at the assertion's level and the authorization goes on.
"""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import g
from flask import render_template
from flask import request
from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from idp.http import framing
from idp.http.http import NO_STORE
from idp.http.http import oauth_json
from idp.http.http import provider
from idp.interaction import pages
from idp.interaction.browser import browser_hash
from idp.interaction.browser import csrf_ok
from idp.interaction.browser import csrf_token
from idp.interaction.elder import longer
from idp.interaction.pages import error_page
from idp.interaction.pages import unit_of_work
from idp.interaction.signin import find_interaction
from idp.interaction.views import continue_asserted
from idp.oauth.authorize import AuthorizationRequest
from idp.qr import render
from idp.scan_signin.text import scan_text
from idp.store.token_store import SqlTokenStore
from idp.store.unit_of_work import UnitOfWork

bp = Blueprint("scan_signin_pc", __name__)
COOKIE = "essc_scan"
#: The page fetches a new code this long before a waiting one expires.
REFRESH_MARGIN = 15
SVG_SCALE = 6


def _authz(s: Session, interaction_id: str) -> AuthorizationRequest | None:
    p = provider()
    row = find_interaction(s, interaction_id, browser_hash=browser_hash(), now=p.now())
    if row is None:
        return None
    authz = AuthorizationRequest.from_json(row.request)
    framing.embed_for(authz.client_id)  # the PC page sits where the sign-in page was
    return authz


def _secret() -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value and len(value) <= 64 and value.isascii() else None


@bp.get("/interaction/<interaction_id>/scan")
@unit_of_work
def page(s: Session, interaction_id: str) -> BaseResponse:
    authz = _authz(s, interaction_id)
    if authz is None:
        return error_page("expired", 400, locale="zh-CN")
    p = provider()
    ttl = longer(p.scan_signin.ttl)  # 长辈版: twice the time (MIIT Annex 1), said on the page
    created = p.scan_signin.create(
        UnitOfWork(s, g.request_id),
        interaction_id=interaction_id,
        client_id=authz.client_id,
        pc_address=request.remote_addr,
        old_secret=_secret(),
        now=p.now(),
        ttl=ttl,
    )
    client = p.clients.get(authz.client_id)
    base = f"/interaction/{interaction_id}"
    html = render_template(
        "scan/pc.html",
        t=scan_text(authz.ui_locale),
        locale=authz.ui_locale,
        client_name=client.name if client else "",
        # segno's SVG of a reference we just drew: no input of anyone's reaches it.
        svg=Markup(render.svg(created.qr_text, SVG_SCALE, fluid=True).decode()),  # noqa: S704
        qr_text=created.qr_text,
        demo_text=created.qr_text if p.settings.demo else None,
        status_url=f"{base}/scan/status",
        complete_url=f"{base}/scan/complete",
        page_url=f"{base}/scan",
        signin_url=f"{base}/signin",
        refresh_in=max(1, ttl - REFRESH_MARGIN),
        valid_minutes=ttl // 60,
        csrf_token=csrf_token(),
    )
    response = pages.html(html, 200, form_to=authz.redirect_uri)
    # The page polls its own status endpoint: connect-src 'self', nothing else is widened.
    response.headers["Content-Security-Policy"] += "; connect-src 'self'"
    response.set_cookie(
        COOKIE,
        created.pc_secret,
        max_age=ttl + 60,
        path="/interaction/",
        httponly=True,
        secure=p.issuer.startswith("https://"),
        samesite="Strict",
    )
    return response


@bp.get("/interaction/<interaction_id>/scan/status")
@unit_of_work
def status(s: Session, interaction_id: str) -> Response:
    p, secret = provider(), _secret()
    found = None
    if secret is not None and _authz(s, interaction_id) is not None:
        found = p.scan_signin.status(UnitOfWork(s, g.request_id), secret, interaction_id, p.now())
    if found is None:
        return oauth_json({"state": "unknown"}, 404)
    body: dict[str, object] = {"state": found.state, "expires_in": found.expires_at - p.now()}
    if found.number is not None:
        body["number"] = found.number
    return oauth_json(body, 200, headers=NO_STORE)


@bp.post("/interaction/<interaction_id>/scan/complete")
@unit_of_work
def complete(s: Session, interaction_id: str) -> BaseResponse:
    p, secret = provider(), _secret()
    authz = _authz(s, interaction_id)
    locale = authz.ui_locale if authz else "zh-CN"
    if not csrf_ok(request.form.get("csrf_token")):
        return error_page("bad_form", 400, locale=locale)
    if authz is None or secret is None:
        return error_page("expired", 400, locale=locale)
    redeemed = p.scan_signin.redeem(
        UnitOfWork(s, g.request_id), secret, interaction_id, g.request_id, p.now()
    )
    if redeemed is None:
        return error_page("expired", 400, locale=locale)
    if not SqlTokenStore(s, now=p.now()).person_may_sign_in(redeemed.person_id):
        return error_page("card_unusable", 403, locale=locale)
    response = continue_asserted(s, interaction_id, redeemed.person_id, redeemed.assurance)
    if response is None:
        return error_page("expired", 400, locale=locale)
    response.delete_cookie(COOKIE, path="/interaction/")
    return response
