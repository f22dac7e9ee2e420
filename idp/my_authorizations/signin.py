"""The PIN sign-in of 我的授权: the interaction's sign-in page and rules (the same template,
``Cardholders.sign_in`` with its lockout, the same audit events and session cookie), with no
portal behind it, so it returns to ``/my/authorizations`` instead of issuing a code."""

from __future__ import annotations

from flask import g
from flask import redirect
from flask import render_template
from flask import request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from idp.events.audit import record_event
from idp.http.http import provider
from idp.interaction import pages
from idp.interaction.browser import csrf_ok
from idp.interaction.browser import csrf_token
from idp.interaction.browser import current_session
from idp.interaction.browser import set_session_cookie
from idp.interaction.elder import follow_into_session
from idp.interaction.i18n import wrong_pin_message
from idp.interaction.signin import reauthenticate
from idp.interaction.signin import start_session
from idp.metrics.registry import LOCKOUTS
from idp.my_authorizations.i18n import my_text
from idp.store.token_store import SqlTokenStore

PAGE = "/my/authorizations"
SIGNIN = "/my/signin"
#: Where a sign-in may return to (``?next=``): 我的授权 by default, or 我的亲情服务.
NEXT_PAGES = {"family": "/my/family"}


def with_locale(path: str, locale: str, **extra: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"ui_locales": locale, **extra}.items())
    return f"{path}?{query}"


def signin_page(
    locale: str, *, error: str | None, status: int, credential: str = ""
) -> BaseResponse:
    t = my_text(locale)
    after = request.args.get("next", "")
    back = {"next": after} if after in NEXT_PAGES else {}
    page = render_template(
        "oauth/signin.html",
        t=t,
        locale=locale,
        client_name=t["my_signin_for"],
        action=with_locale(SIGNIN, locale, **back),
        csrf_token=csrf_token(),
        error=error,
        login_hint=credential,
        step_up=False,
    )
    return pages.html(page, status)


def sign_in(s: Session, locale: str) -> BaseResponse:
    """The form's POST: a refused PIN shows the page again as the interaction does (tries
    left, the card number kept); a right one starts or renews the session and goes back."""
    t = my_text(locale)
    if not csrf_ok(request.form.get("csrf_token")):
        return signin_page(locale, error=t["bad_form"], status=400)
    credential = request.form.get("credential", "")[:32]
    pin = request.form.get("pin", "")[:16]
    p = provider()
    person = p.cardholders.find_by_credential(s, credential) if credential else None
    result = p.cardholders.sign_in(s, person, credential, pin)
    event = (
        "signin.succeeded" if result.ok else ("signin.locked" if result.locked else "signin.failed")
    )
    person_id = person.id if person else None
    record_event(s, event, at=p.now(), person_id=person_id, request_id=g.request_id)
    if not result.ok or person is None:
        if result.locked:
            LOCKOUTS.inc()
        return signin_page(
            locale,
            error=wrong_pin_message(locale, result),
            status=429 if result.locked else 401,
            credential=pages.kept_credential(credential),
        )
    if not SqlTokenStore(s, now=p.now()).person_may_sign_in(person.id):
        return signin_page(locale, error=t["card_unusable"], status=403)
    after = NEXT_PAGES.get(request.args.get("next", ""), PAGE)
    response = redirect(with_locale(after, locale), 303)
    browser = current_session(s)
    if browser is not None and browser.person_id == person.id:
        reauthenticate(browser, now=p.now())
    else:
        new = start_session(
            s, p.token_hash, person_id=person.id, now=p.now(), ttl=p.settings.session_ttl
        )
        follow_into_session(s, person.id)
        set_session_cookie(response, new.cookie)
    return response
