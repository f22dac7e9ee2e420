"""``/interaction/<id>/cancel``: the citizen turns back from the sign-in page.

Every sign-in page has a way back to the portal, the step-up page (a portal asking for more
than a PIN) most of all: without it the citizen is stuck on a page that cannot sign them in.
Turning back ends the interaction once (a conditional UPDATE) and answers the portal
``access_denied`` (RFC 6749 4.1.2.1: "the resource owner ... denied the request").
"""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint
from flask import g
from flask import request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from idp.errors import AccessDenied
from idp.events.audit import record_event
from idp.http import framing
from idp.http.http import provider
from idp.interaction.browser import browser_hash
from idp.interaction.browser import csrf_ok
from idp.interaction.language import page_locale
from idp.interaction.pages import error_page
from idp.interaction.pages import respond_error
from idp.interaction.pages import unit_of_work
from idp.interaction.signin import complete_interaction
from idp.interaction.signin import find_interaction
from idp.oauth.authorize import AuthorizationRequest

bp = Blueprint("interaction_cancel", __name__)


@bp.route("/interaction/<interaction_id>/cancel", methods=["POST"])
@unit_of_work
def cancel(s: Session, interaction_id: str) -> BaseResponse:
    p = provider()
    now = p.now()
    row = find_interaction(s, interaction_id, browser_hash=browser_hash(), now=now)
    if row is None:
        return error_page("expired", 400, locale="zh-CN")
    authz = AuthorizationRequest.from_json(row.request)
    framing.embed_for(authz.client_id)
    authz = replace(authz, ui_locale=page_locale(authz.ui_locale))
    if not csrf_ok(request.form.get("csrf_token")):
        return error_page("bad_form", 400, locale=authz.ui_locale)
    if not complete_interaction(s, interaction_id, now):
        return error_page("expired", 400, locale=authz.ui_locale)  # a second tap, or a race
    record_event(s, "signin.cancelled", at=now, client_id=authz.client_id, request_id=g.request_id)
    return respond_error(authz, AccessDenied("the user cancelled the sign-in"))
