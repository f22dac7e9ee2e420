"""``/my/authorizations`` (我的授权): the signed-in citizen's portals, sessions and e-cards, and
revoking any of them (``idp.my_authorizations.revoke``). ``docs/pages.md`` describes the page."""

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
from idp.interaction.browser import session_cookie_hash
from idp.interaction.i18n import SCOPE_TEXT
from idp.interaction.i18n import scope_label
from idp.interaction.pages import unit_of_work
from idp.my_authorizations import revoke
from idp.my_authorizations.holdings import holdings
from idp.my_authorizations.i18n import acr_words
from idp.my_authorizations.i18n import my_text
from idp.my_authorizations.i18n import when
from idp.my_authorizations.signin import PAGE
from idp.my_authorizations.signin import SIGNIN
from idp.my_authorizations.signin import sign_in
from idp.my_authorizations.signin import signin_page
from idp.my_authorizations.signin import with_locale
from idp.oauth.authorize import first_ui_locale
from idp.store.unit_of_work import UnitOfWork

bp = Blueprint("my_authorizations", __name__)

#: Unbinding an e-card needs the cardholder present (docs/ecards.md 5): a sign-in this recent.
ECARD_SIGNIN_MAX_AGE = 600
#: The notices a revoke may lead to (``?notice=``); anything else shows none.
NOTICES = {"done": "my_done", "session": "my_done_session", "ecard": "my_done_ecard"}
_REVOKERS = {
    "portal": revoke.revoke_portal,
    "session": revoke.end_own_session,
    "ecard": revoke.revoke_ecard,
}
_DONE = {"portal": "done", "session": "session", "ecard": "ecard"}


def _in_order(scopes: tuple[str, ...]) -> list[str]:
    """The consent page's order (``SCOPE_TEXT``): who you are first, then what is released."""
    known = list(SCOPE_TEXT)
    return sorted(scopes, key=lambda s: known.index(s) if s in known else len(known))


def _locale() -> str:
    return first_ui_locale(request.values.get("ui_locales"))


@bp.get(PAGE)
@unit_of_work
def page(s: Session) -> BaseResponse:
    locale = _locale()
    browser = current_session(s)
    if browser is None:
        return redirect(with_locale(SIGNIN, locale), 303)
    p = provider()
    held = holdings(
        s,
        browser.person_id,
        now=p.now(),
        cookie_hash=session_cookie_hash(),
        find_client=p.clients.get,
    )
    t = my_text(locale)
    notice = request.args.get("notice", "")
    body = render_template(
        "my/authorizations.html",
        t=t,
        locale=locale,
        held=held,
        scope_words=lambda scope: scope_label(locale, scope),
        in_order=_in_order,
        acr_words=lambda acr: acr_words(t, acr),
        when=when,
        notice=t[NOTICES[notice]] if notice in NOTICES else None,
        action=with_locale(f"{PAGE}/revoke", locale),
        switch=with_locale(PAGE, "zh-CN" if locale == "en" else "en"),
        csrf_token=csrf_token(),
    )
    return pages.html(body, 200)


@bp.route(SIGNIN, methods=["GET", "POST"])
@unit_of_work
def signin(s: Session) -> BaseResponse:
    locale = _locale()
    if request.method == "POST":
        return sign_in(s, locale)
    error = my_text(locale)["my_reauth"] if request.args.get("reauth") == "1" else None
    return signin_page(locale, error=error, status=200)


@bp.post(f"{PAGE}/revoke")
@unit_of_work
def revoke_one(s: Session) -> BaseResponse:
    locale = _locale()
    browser = current_session(s)
    if browser is None:
        return redirect(with_locale(SIGNIN, locale), 303)
    if not csrf_ok(request.form.get("csrf_token")):
        return pages.error_page("bad_form", 400, locale=locale)
    kind, item = request.form.get("kind", ""), request.form.get("id", "")
    revoker = _REVOKERS.get(kind)
    if revoker is None:
        return _not_found(locale)
    p = provider()
    if kind == "ecard" and p.now() - browser.auth_time > ECARD_SIGNIN_MAX_AGE:
        return redirect(with_locale(SIGNIN, locale, reauth="1"), 303)
    outcome = revoker(UnitOfWork(s, g.request_id), browser.person_id, item, now=p.now())
    if outcome is revoke.Outcome.NOT_FOUND:
        return _not_found(locale)
    if outcome is revoke.Outcome.ALREADY:
        return _already(locale)
    if kind == "session" and item == browser.sid:
        return _signed_out(locale)
    return redirect(with_locale(PAGE, locale, notice=_DONE[kind]), 303)


def _message(locale: str, key: str, status: int) -> BaseResponse:
    """A page that says what happened and leads back to the list."""
    t = my_text(locale)
    body = render_template(
        "my/message.html",
        t=t,
        locale=locale,
        message=t[key],
        back=with_locale(PAGE, locale),
        request_id=g.request_id,
        alert=status >= 400,
    )
    return pages.html(body, status)


def _not_found(locale: str) -> BaseResponse:
    return _message(locale, "my_not_found", 404)


def _already(locale: str) -> BaseResponse:
    return _message(locale, "my_already", 200)


def _signed_out(locale: str) -> BaseResponse:
    """The citizen ended this very browser's session: the logout page, cookie cleared."""
    t = my_text(locale)
    body = render_template("oauth/logged_out.html", t=t, locale=locale, request_id=g.request_id)
    response = pages.html(body, 200)
    clear_session_cookie(response)
    return response
