"""CSRF on the demo's forms (issue 13 item 7, "CSRF on every form"): the demo phones' POST
forms carry the same per-browser token as the product pages (``idp.interaction.browser``), and
a POST without it, or with another browser's, gets the plain "bad form" page (400) before its
view runs. The demo is development only, but its pages confirm payments with a PIN and act for
relatives, so a page elsewhere must not be able to submit them.
"""

from __future__ import annotations

from flask import Blueprint
from flask import request
from werkzeug.wrappers import Response as BaseResponse

from idp.interaction.browser import csrf_ok
from idp.interaction.browser import csrf_token
from idp.interaction.pages import error_page


def guard(bp: Blueprint) -> Blueprint:
    """Every POST to ``bp`` needs the token; its templates get ``csrf_token()``."""
    bp.before_request(_refuse_forged)
    bp.context_processor(lambda: {"csrf_token": csrf_token})
    return bp


def _refuse_forged() -> BaseResponse | None:
    if request.method == "POST" and not csrf_ok(request.form.get("csrf_token")):
        return error_page("bad_form", 400, locale="zh-CN")
    return None
