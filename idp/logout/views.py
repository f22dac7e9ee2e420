"""``/logout``: the end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0 2, 3)."""

from __future__ import annotations

from flask import Blueprint
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from idp.http.http import provider
from idp.interaction import pages
from idp.interaction.browser import clear_session_cookie
from idp.interaction.browser import csrf_ok
from idp.interaction.browser import csrf_token
from idp.interaction.browser import current_session
from idp.interaction.i18n import text
from idp.interaction.language import page_locale
from idp.interaction.language import switch_url
from idp.interaction.pages import error_page
from idp.interaction.pages import unit_of_work
from idp.logout.service import LogoutRefused
from idp.logout.service import LogoutRequest
from idp.logout.service import end_session
from idp.logout.service import parse_logout_request
from idp.oauth.authorize import first_ui_locale

bp = Blueprint("logout", __name__)


def _parse() -> LogoutRequest:
    p = provider()
    params = {k: v for k, v in request.values.items() if isinstance(v, str)}
    return parse_logout_request(
        params, verify=p.keyring.verify, issuer=p.issuer, find_client=p.clients.get
    )


@bp.route("/logout", methods=["GET", "POST"])
@unit_of_work
def logout(s: Session) -> BaseResponse:
    locale = page_locale(first_ui_locale(request.values.get("ui_locales")))
    try:
        logout_request = _parse()
    except LogoutRefused as refused:
        return error_page(refused.key, 400, locale=locale)
    browser = current_session(s)
    if browser is None:
        return _finish(logout_request, locale)
    # Section 2: without a hint naming this very session, the citizen confirms (a third party
    # must not be able to sign anyone out with a bare link).
    if logout_request.hint_sid is None or logout_request.hint_sid != browser.sid:
        return _confirmation(logout_request, locale)
    end_session(s, browser, now=provider().now(), client_id=_client_id(logout_request))
    return _finish(logout_request, locale)


@bp.route("/logout/confirm", methods=["POST"])
@unit_of_work
def confirm(s: Session) -> BaseResponse:
    locale = page_locale(first_ui_locale(request.form.get("ui_locales")))
    if not csrf_ok(request.form.get("csrf_token")):
        return error_page("bad_form", 400, locale=locale)
    try:
        logout_request = _parse()
    except LogoutRefused as refused:
        return error_page(refused.key, 400, locale=locale)
    if request.form.get("decision") == "stay":
        return _stay(logout_request, locale)
    browser = current_session(s)
    if browser is not None:
        end_session(s, browser, now=provider().now(), client_id=_client_id(logout_request))
    return _finish(logout_request, locale)


def _stay(logout_request: LogoutRequest, locale: str) -> BaseResponse:
    """The citizen chose to stay signed in (RP-Initiated Logout 1.0 section 2: the OP asks
    whether to log out of the OP too; "no" leaves the session and its other portals alone).
    The portal already ended its own session, so the citizen goes back to it as it asked."""
    location = logout_request.location()
    if location is not None:
        return redirect(location, 303)
    page = render_template(
        "oauth/logged_out.html",
        t=text(locale),
        locale=locale,
        message=text(locale)["logout_stayed"],
        request_id=g.request_id,
    )
    return pages.html(page, 200)


def _client_id(logout_request: LogoutRequest) -> str | None:
    return logout_request.client.client_id if logout_request.client else None


def _confirmation(logout_request: LogoutRequest, locale: str) -> BaseResponse:
    client = logout_request.client
    page = render_template(
        "oauth/logout.html",
        t=text(locale),
        locale=locale,
        switch_url=switch_url(locale),
        action="/logout/confirm",
        csrf_token=csrf_token(),
        client_name=client.name if client else None,
        client_id=client.client_id if client else None,
        redirect_uri=logout_request.redirect_uri,
        state=logout_request.state,
        request_id=g.request_id,
    )
    # Chromium checks form-action against the redirect after the POST (idp.interaction.pages).
    return pages.html(page, 200, form_to=logout_request.redirect_uri)


def _finish(logout_request: LogoutRequest, locale: str) -> BaseResponse:
    location = logout_request.location()
    if location is not None:
        response: BaseResponse = redirect(location, 303)
    else:
        page = render_template(
            "oauth/logged_out.html", t=text(locale), locale=locale, request_id=g.request_id
        )
        response = pages.html(page, 200)
    clear_session_cookie(response)
    return response
