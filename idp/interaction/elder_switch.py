"""The 长辈版 / 标准版 switch at the top of every page (docs/pages.md "Turning it on"): a form
that POSTs ``/ui`` with the page's CSRF token, so only the citizen's own tap saves the choice
(the ``essc_ui`` cookie, and the cardholder's preference when signed in, in the switch's one
transaction). A ``ui=elder`` link from another site shows the page in that form and saves
nothing (``idp.interaction.elder``).

After the switch the citizen is back where they were, as a GET (``idp.interaction.elder_return``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import g
from flask import redirect
from flask import request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from idp.interaction import elder
from idp.interaction.browser import csrf_ok
from idp.interaction.browser import csrf_token
from idp.interaction.browser import current_session
from idp.interaction.elder_return import next_page
from idp.interaction.elder_return import return_to
from idp.interaction.pages import error_page
from idp.interaction.pages import unit_of_work
from idp.store.preferences import UI_MODES

bp = Blueprint("elder", __name__)
PATH = "/ui"


def switch_form() -> dict[str, str] | None:
    """What ``base.html`` draws the switch with, or None where it has nowhere to go back to.
    An error page sets ``g.ui_next`` (its path alone, never the refused query)."""
    target = g.ui_next if "ui_next" in g else return_to()
    if target is None:
        return None
    other = "standard" if elder.elder_mode() else "elder"
    return {"action": PATH, "ui": other, "next": target, "csrf_token": csrf_token()}


@bp.app_context_processor
def page_flag() -> dict[str, Any]:
    return {**elder.context(), "ui_switch": switch_form}


@bp.after_app_request
def remember(response: BaseResponse) -> BaseResponse:
    return elder.after_request(response)


@bp.post(PATH)
@unit_of_work
def switch(s: Session) -> BaseResponse:
    if not csrf_ok(request.form.get("csrf_token")):
        return error_page("bad_form", 400, locale="zh-CN")
    chosen = request.form.get("ui", "")
    target = next_page(request.form.get("next", ""))
    if chosen not in UI_MODES or target is None:
        return error_page("bad_request", 400, locale="zh-CN")
    browser = current_session(s)
    elder.choose(s, browser.person_id if browser is not None else None, chosen)
    return redirect(target, 303)
