"""长辈版 (elderly mode): one page-level flag for every page a citizen sees (docs/pages.md
"长辈版 (elderly mode)"), after MIIT's 《移动互联网应用（APP）适老化通用设计规范》 and
《互联网网站适老化通用设计规范》 (工信厅信管函〔2021〕67号).

The flag is ``elder`` in every template's context; ``base.html`` then adds
``/static/elder.css`` (the sizes, spacing and contrast live there, not in the templates) and
the switch. Where the page's form comes from, first match wins:

1. ``ui=elder`` / ``ui=standard`` on this request (the switch's link, or a channel that already
   knows, e.g. on ``/authorize``): remembered in the ``essc_ui`` cookie, and for the signed-in
   cardholder (``cardholder_preferences``);
2. the cardholder's saved choice, applied when a session starts in a browser that has made
   none (a browser that has made one keeps it and saves it for the cardholder);
3. the ``essc_ui`` cookie; standard without one.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote
from urllib.parse import urlencode

from flask import Blueprint
from flask import g
from flask import request
from flask_babel import gettext
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from idp.http.http import provider
from idp.interaction.browser import session_cookie_hash
from idp.interaction.i18n import N_
from idp.interaction.signin import find_session
from idp.store.preferences import UI_MODES
from idp.store.preferences import save_ui
from idp.store.preferences import saved_ui

log = logging.getLogger("essc.idp")
bp = Blueprint("elder", __name__)

PARAM = "ui"
COOKIE = "essc_ui"
#: Chromium keeps a cookie at most 400 days (RFC 6265bis 5.5); the choice is renewed on use.
COOKIE_MAX_AGE = 400 * 24 * 3600
#: How much longer an elder gets where a time limit is the product's choice (MIIT Annex 1: a
#: code that expires within 3 minutes must be extendable to at least twice the time).
TIME_FACTOR = 2
#: Answers of requests the edge refused before any view ran (too long, rate-limited): they
#: save nothing.
REFUSED_UNSEEN = frozenset({414, 429, 431})
#: What each QR code is for, in words, above the elder's QR display (idp.qr.token.Purpose).
QR_PURPOSE: dict[str, str] = {
    "payment": N_("这是您的付款码，请给收银员扫。"),
    "transit": N_("这是您的乘车码，上车时请对准闸机扫。"),
    "medical": N_("这是您的医保码，请给医生或药店扫。"),
    "identity": N_("这是您的社保卡身份码，请给办事的工作人员扫。"),
    "signin": N_("这是登录用的二维码，请用手机上的电子社保卡应用扫一扫。"),
}


def requested_ui() -> str | None:
    """``ui`` of this request (query, or the form of a POST to ``/authorize``) when valid."""
    value = request.args.get(PARAM)
    if value is None and request.method == "POST" and request.path == "/authorize":
        try:
            value = request.form.get(PARAM)
        except RequestEntityTooLarge:  # the error page of an oversized body asks too
            return None
    return value if value in UI_MODES else None


def chosen_ui() -> str | None:
    """The browser's choice: this request's ``ui``, else the cardholder's applied at sign-in,
    else the cookie; None when it never chose."""
    if "ui_chosen" not in g:
        cookie = request.cookies.get(COOKIE)
        g.ui_chosen = requested_ui() or (cookie if cookie in UI_MODES else None)
    chosen: str | None = g.ui_chosen
    return chosen


def elder_mode() -> bool:
    """Whether this request's page is shown as 长辈版."""
    return chosen_ui() == "elder"


def longer(seconds: int) -> int:
    """A product-chosen time limit as this page's citizen gets it: doubled for an elder."""
    return seconds * TIME_FACTOR if elder_mode() else seconds


def switch_url() -> str:
    """This page again in the other form: its path and query with ``ui`` swapped. A page drawn
    by a POST is asked for again by GET (its view answers that with the page's start)."""
    query = [(k, v) for k, v in request.args.items(multi=True) if k != PARAM]
    query.append((PARAM, "standard" if elder_mode() else "elder"))
    return f"{quote(request.path)}?{urlencode(query)}"


def qr_purpose(purpose: str) -> str:
    """What the QR code is for, in the page's language."""
    return str(gettext(QR_PURPOSE[purpose]))


@bp.app_context_processor
def page_flag() -> dict[str, Any]:
    return {"elder": elder_mode(), "ui_switch": switch_url, "qr_purpose": qr_purpose}


@bp.after_app_request
def remember_in_the_browser(response: BaseResponse) -> BaseResponse:
    """Sets ``essc_ui`` when this request chose, and syncs with the cardholder when it started
    a session (``browser.set_session_cookie`` leaves the new cookie in ``g``)."""
    if response.status_code in REFUSED_UNSEEN:
        return response
    started = g.get("started_session")
    if isinstance(started, str):
        _sync_at_sign_in(started)
    elif requested_ui() is not None:
        _save_for_the_cardholder()
    chosen = requested_ui() or g.get("ui_from_cardholder")
    if chosen is not None and request.cookies.get(COOKIE) != chosen:
        p = provider()
        response.set_cookie(
            COOKIE,
            chosen,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            secure=p.issuer.startswith("https://"),
            samesite="Lax",
        )
    return response


def _save_for_the_cardholder() -> None:
    """A ``ui`` chosen while signed in is saved for the cardholder, in its own short
    transaction after the view's (a failure costs only the saving, never the page)."""
    chosen, cookie_hash = requested_ui(), session_cookie_hash()
    if chosen is None or cookie_hash is None:
        return
    p = provider()
    try:
        with p.db.transaction() as s:
            browser = find_session(s, cookie_hash, p.now())
            if browser is not None and saved_ui(s, browser.person_id) != chosen:
                save_ui(s, browser.person_id, chosen, p.now())
    except SQLAlchemyError:
        log.warning("the page form could not be saved [%s]", g.get("request_id"), exc_info=True)


def _sync_at_sign_in(session_cookie: str) -> None:
    p = provider()
    own = chosen_ui()
    try:
        with p.db.transaction() as s:
            browser = find_session(s, p.token_hash(session_cookie), p.now())
            if browser is None:
                return
            saved = saved_ui(s, browser.person_id)
            if own is None:
                g.ui_from_cardholder = saved
            elif own != saved:
                save_ui(s, browser.person_id, own, p.now())
    except SQLAlchemyError:
        log.warning("the page form could not be synced [%s]", g.get("request_id"), exc_info=True)
