"""``/my/family`` (我的亲情服务): the signed-in citizen's relatives, what each may do and did for
them, and ending a relationship (issue 11 item 2: "either side ends the relationship at any
time"; docs/family.md "我的亲情服务"). Signed in as for 我的授权 (``/my/signin``, the same
session cookie); the end button is a CSRF-checked form, and ending stops the relative's
delegated tokens and codes at once (``Family.end``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask_babel import gettext
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from idp.errors import Problem
from idp.family import my_history
from idp.family.service import not_found
from idp.family.views import _ID
from idp.http.http import provider
from idp.interaction import pages
from idp.interaction.browser import csrf_ok
from idp.interaction.browser import csrf_token
from idp.interaction.browser import current_session
from idp.interaction.i18n import N_
from idp.interaction.pages import unit_of_work
from idp.my_authorizations.i18n import my_text
from idp.my_authorizations.signin import SIGNIN
from idp.my_authorizations.signin import with_locale
from idp.oauth.authorize import first_ui_locale
from idp.store.family import FamilyRelationship
from idp.store.people import Person
from idp.store.unit_of_work import UnitOfWork

PAGE = "/my/family"
bp = Blueprint("my_family", __name__)
ENDED = N_("已结束。对方的代办权限已立即失效，之前出示的二维码也已作废。")
ALREADY = N_("这段亲情关系已经结束，无需再操作。")
NOT_FOUND = N_("没有找到这段亲情关系。请返回刷新后再看。")


def _locale() -> str:
    return first_ui_locale(request.values.get("ui_locales"))


def _relative(s: Session, row: FamilyRelationship, me: str) -> dict[str, Any]:
    as_principal = row.principal_id == me
    other = s.get(Person, row.agent_id if as_principal else row.principal_id)
    role = my_history.role_words(row.relationship, other) if as_principal else _role(row, other)
    return {
        "id": row.id,
        "name": other.name if other is not None else "",
        "role": role,
        "state": row.state,
        "powers": my_history.powers_words(row.powers or row.requested_powers),
        "until": my_history.date(row.expires_at),
        "side": "principal" if as_principal else "agent",
    }


def _role(row: FamilyRelationship, other: Person | None) -> str:
    """What the principal is to me, the agent (``parent``: my father or mother); role_words
    takes the relationship as the principal states it, so it is turned round first."""
    inverse = {"parent": "child", "child": "parent"}.get(row.relationship, row.relationship)
    return my_history.role_words(inverse, other)


@bp.get(PAGE)
@unit_of_work
def page(s: Session) -> BaseResponse:
    locale = _locale()
    browser = current_session(s)
    if browser is None:
        return redirect(with_locale(SIGNIN, locale, next="family"), 303)
    p = provider()
    me = browser.person_id
    rows = p.family.live_of(UnitOfWork(s, g.request_id), me)
    relatives = [_relative(s, row, me) for row in rows]
    t = my_text(locale)
    notice = {"ended": ENDED, "already": ALREADY}.get(request.args.get("notice", ""))
    body = render_template(
        "my/family.html",
        t=t,
        locale=locale,
        agents=[r for r in relatives if r["side"] == "principal"],
        principals=[r for r in relatives if r["side"] == "agent"],
        history=my_history.lines(s, me),
        notice=gettext(notice) if notice else None,
        action=with_locale(f"{PAGE}/end", locale),
        csrf_token=csrf_token(),
    )
    return pages.html(body, 200)


@bp.post(f"{PAGE}/end")
@unit_of_work
def end(s: Session) -> BaseResponse:
    locale = _locale()
    browser = current_session(s)
    if browser is None:
        return redirect(with_locale(SIGNIN, locale, next="family"), 303)
    if not csrf_ok(request.form.get("csrf_token")):
        return pages.error_page("bad_form", 400, locale=locale)
    relationship_id = request.form.get("id", "")
    try:
        if not _ID.fullmatch(relationship_id):
            raise not_found()
        provider().family.end(UnitOfWork(s, g.request_id), relationship_id, browser.person_id)
    except Problem as refused:
        if refused.slug == "relationship-ended":
            return redirect(with_locale(PAGE, locale, notice="already"), 303)
        return _message(locale, gettext(NOT_FOUND), 404)
    return redirect(with_locale(PAGE, locale, notice="ended"), 303)


def _message(locale: str, message: str, status: int) -> BaseResponse:
    body = render_template(
        "my/message.html",
        t=my_text(locale),
        locale=locale,
        message=message,
        back=with_locale(PAGE, locale),
        request_id=g.request_id,
        alert=status >= 400,
    )
    return pages.html(body, status)
