"""The citizen's own choice of page language (issue 10 item 7: English "via ``ui_locales`` or a
switch"). The portal's ``ui_locales`` is only a hint (OIDC Core 3.1.2.1); a citizen who taps the
switch has said what they read, so the choice is kept in the browser's signed flow cookie
(Flask's session, idp.interaction.browser) and wins on every later page of that browser."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import request
from flask import session

from idp.interaction.i18n import CATALOGUES

#: The switch's query parameter; the page's other parameters are kept.
SWITCH = "lang"


def page_locale(requested: str) -> str:
    """The language to build this page in: the switch just tapped, else the one remembered,
    else ``requested`` (the authorization request's ``ui_locales``)."""
    switched = request.args.get(SWITCH, "")
    if switched in CATALOGUES:
        session["lang"] = switched
    remembered = session.get("lang")
    return remembered if isinstance(remembered, str) and remembered in CATALOGUES else requested


def switch_url(locale: str) -> str:
    """This page again in the other language. A page answering a POST links to the GET of the
    same path, which every interaction page has."""
    other = "en" if locale == "zh-CN" else "zh-CN"
    kept = [(k, v) for k, v in request.args.items(multi=True) if k != SWITCH]
    if request.method != "GET":
        kept = []
    return f"{request.path}?{urlencode([*kept, (SWITCH, other)])}"
