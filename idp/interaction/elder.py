"""长辈版 (elderly mode): one page-level flag for every page a citizen sees (docs/pages.md
"长辈版 (elderly mode)"), after MIIT's 《移动互联网应用（APP）适老化通用设计规范》 and
《互联网网站适老化通用设计规范》 (工信厅信管函〔2021〕67号).

The flag is ``elder`` in every template's context; ``base.html`` then adds
``/static/elder.css`` (the sizes, spacing and contrast live there, not in the templates) and
the switch. Where the page's form comes from, first match wins:

1. ``ui=elder`` / ``ui=standard`` on this request (a channel that already knows, e.g. on
   ``/authorize``): this page, and the rest of the flow (kept in the signed flow cookie), in
   that form. A link anyone can send, so it saves nothing: not the ``essc_ui`` cookie, not the
   cardholder's preference;
2. the citizen's own choice: the switch, a CSRF-checked POST (``idp.interaction.elder_switch``),
   kept in the ``essc_ui`` cookie and, when signed in, for the cardholder
   (``cardholder_preferences``); a browser that never chose takes the cardholder's saved choice
   when a session starts (``follow_into_session``, in the sign-in's own transaction);
3. standard.
"""

from __future__ import annotations

from typing import Any

from flask import g
from flask import request
from flask import session
from flask.sessions import NullSession
from flask_babel import gettext
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from idp.http.http import provider
from idp.interaction.i18n import N_
from idp.store.preferences import UI_MODES
from idp.store.preferences import save_ui
from idp.store.preferences import saved_ui

PARAM = "ui"
COOKIE = "essc_ui"
#: The flow cookie's key for a channel's ``ui`` (item 1 above).
HINT = "ui_hint"
#: Chromium keeps a cookie at most 400 days (RFC 6265bis 5.5); the choice is renewed on use.
COOKIE_MAX_AGE = 400 * 24 * 3600
#: How much longer an elder gets where a time limit is the product's choice (MIIT Annex 1: a
#: code that expires within 3 minutes must be extendable to at least twice the time).
TIME_FACTOR = 2
#: Answers of requests the edge refused before any view ran (too long, rate-limited): they
#: keep nothing.
REFUSED_UNSEEN = frozenset({414, 429, 431})
#: What each QR code is for, in words, above the elder's QR display (idp.qr.token.Purpose).
QR_PURPOSE: dict[str, str] = {
    "payment": N_("这是您的付款码，请给收银员扫。"),
    "transit": N_("这是您的乘车码，上车时请对准闸机扫。"),
    "medical": N_("这是您的医保码，请给医生或药店扫。"),
    "identity": N_("这是您的社保卡身份码，请给办事的工作人员扫。"),
    "signin": N_("这是登录用的二维码，请用手机上的电子社保卡应用扫一扫。"),
}
#: The same for a code a relative shows for the cardholder (family proxy, docs/family.md).
QR_PURPOSE_FOR: dict[str, str] = {
    "medical": N_("这是%(name)s的医保码，由您代为出示，请给医生或药店扫。"),
    "identity": N_("这是%(name)s的社保卡身份码，由您代为出示，请给办事的工作人员扫。"),
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


def own_ui() -> str | None:
    """The citizen's own choice in this browser: made on this request (the switch), taken
    from the cardholder at sign-in, or the cookie; None when it never chose."""
    made = g.get("ui_own")
    if made in UI_MODES:
        return str(made)
    cookie = request.cookies.get(COOKIE)
    return cookie if cookie in UI_MODES else None


def page_ui() -> str | None:
    """This page's form: the request's ``ui``, else the flow's, else the citizen's own."""
    hint = session.get(HINT)
    return requested_ui() or (hint if hint in UI_MODES else None) or own_ui()


def elder_mode() -> bool:
    """Whether this request's page is shown as 长辈版."""
    return page_ui() == "elder"


def longer(seconds: int) -> int:
    """A product-chosen time limit as this page's citizen gets it: doubled for an elder."""
    return seconds * TIME_FACTOR if elder_mode() else seconds


def qr_purpose(purpose: str, of: str | None = None) -> str:
    """What the QR code is for, in the page's language; ``of``: the name of the relative whose
    code it is, when a family member shows it for them."""
    if of is not None and purpose in QR_PURPOSE_FOR:
        return str(gettext(QR_PURPOSE_FOR[purpose], name=of))
    return str(gettext(QR_PURPOSE[purpose]))


def follow_into_session(s: Session, person_id: str) -> None:
    """A session starts for ``person_id`` (in the sign-in's transaction ``s``): a browser that
    chose keeps its choice and saves it for the cardholder; one that never chose takes the
    cardholder's saved choice (its cookie is set after the view)."""
    p = provider()
    own, saved = own_ui(), saved_ui(s, person_id)
    if own is None:
        g.ui_own = saved
        g.ui_set_cookie = saved
    elif own != saved:
        save_ui(s, person_id, own, p.now())


def choose(s: Session, person_id: str | None, chosen: str) -> None:
    """The citizen's own switch: this browser's cookie and, when signed in, the cardholder's
    preference (in the switch's transaction ``s``); the flow's ``ui`` gives way to it."""
    g.ui_own = chosen
    g.ui_set_cookie = chosen
    if not isinstance(session, NullSession):
        session.pop(HINT, None)
    if person_id is not None and saved_ui(s, person_id) != chosen:
        save_ui(s, person_id, chosen, provider().now())


def context() -> dict[str, Any]:
    return {"elder": elder_mode(), "qr_purpose": qr_purpose}


def after_request(response: BaseResponse) -> BaseResponse:
    """Keeps a channel's ``ui`` for the flow, and sets ``essc_ui`` when the citizen chose."""
    if response.status_code in REFUSED_UNSEEN:
        return response
    hint = requested_ui()
    keeps = not isinstance(session, NullSession)  # API paths have no flow cookie
    if hint is not None and keeps and session.get(HINT) != hint:
        session[HINT] = hint
    chosen = g.get("ui_set_cookie")
    if chosen in UI_MODES and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE,
            chosen,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            secure=provider().issuer.startswith("https://"),
            samesite="Lax",
        )
    return response
