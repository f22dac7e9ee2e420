"""The authorization endpoint (RFC 6749 3.1, OIDC Core 3.1.2) and the sign-in interaction."""

from __future__ import annotations

import logging
from dataclasses import replace

from flask import Blueprint
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from idp.errors import AccessDenied
from idp.errors import ConsentRequired
from idp.errors import InteractionRequired
from idp.errors import InvalidRequest
from idp.errors import LoginRequired
from idp.errors import OAuthError
from idp.errors import UnmetAuthenticationRequirements
from idp.events.audit import record_event
from idp.http import framing
from idp.http.http import provider
from idp.interaction import pages
from idp.interaction.assurance import Assurance
from idp.interaction.browser import browser_hash
from idp.interaction.browser import csrf_ok
from idp.interaction.browser import csrf_token
from idp.interaction.browser import current_session
from idp.interaction.browser import set_session_cookie
from idp.interaction.browser import signed_in_for
from idp.interaction.elder import follow_into_session
from idp.interaction.i18n import SCOPE_TEXT
from idp.interaction.i18n import scope_label
from idp.interaction.i18n import text
from idp.interaction.i18n import wrong_pin_message
from idp.interaction.language import page_locale
from idp.interaction.language import switch_url
from idp.interaction.pages import deliver
from idp.interaction.pages import error_page
from idp.interaction.pages import respond_error
from idp.interaction.pages import unit_of_work
from idp.interaction.plain_errors import raw_locale
from idp.interaction.plain_errors import untrusted_page
from idp.interaction.signin import SignedIn
from idp.interaction.signin import complete_interaction
from idp.interaction.signin import consent_covers
from idp.interaction.signin import create_interaction
from idp.interaction.signin import find_interaction
from idp.interaction.signin import hinted_person
from idp.interaction.signin import issue_code
from idp.interaction.signin import reauthenticate
from idp.interaction.signin import remember_consent
from idp.interaction.signin import start_session
from idp.interaction.step_up import Need
from idp.interaction.step_up import Verdict
from idp.interaction.step_up import decide
from idp.interaction.step_up import needs_app
from idp.metrics.registry import LOCKOUTS
from idp.oauth import fapi2
from idp.oauth import response as authz_response
from idp.oauth.authorize import AuthorizationRequest
from idp.oauth.authorize import RedirectableError
from idp.oauth.authorize import UntrustedRedirect
from idp.oauth.authorize import parse_authorization_request
from idp.store.grants import BrowserSession
from idp.store.grants import Interaction
from idp.store.people import Person
from idp.store.pushed_requests import SqlPushedRequests
from idp.store.token_store import SqlTokenStore
from idp.store.unit_of_work import UnitOfWork

log = logging.getLogger("essc.idp")
bp = Blueprint("authorize", __name__)


@bp.route("/authorize", methods=["GET", "POST"])
@unit_of_work
def authorize(s: Session) -> BaseResponse:
    p = provider()
    items = list((request.args if request.method == "GET" else request.form).items(multi=True))
    try:
        items, pushed = p.pushed_requests.expand(items, SqlPushedRequests(s))
        authz = parse_authorization_request(items, p.clients.get, pushed=pushed)
    except OAuthError as exc:  # a request_uri that cannot be used: no redirect_uri to trust
        log.info("oauth error %s on /authorize: %s [%s]", exc.error, exc.detail, g.request_id)
        return error_page(untrusted_page(items, p.clients.get, exc), 400, locale=raw_locale(items))
    except (UntrustedRedirect, RedirectableError) as exc:
        # The precise reason goes to the log only (idp.errors), as on the back channel.
        log.info(
            "oauth error %s on /authorize: %s [%s]", exc.error.error, exc.error.detail, g.request_id
        )
        if isinstance(exc, UntrustedRedirect):
            key = untrusted_page(items, p.clients.get, exc.error)
            return error_page(key, 400, locale=raw_locale(items))
        framing.embed_for(exc.request.client_id)  # its redirect_uri is verified: it is the client
        return respond_error(exc.request, exc.error)
    framing.embed_for(authz.client_id)
    token = dict(items).get("login_hint_token")
    if token:
        return _channel_signin(s, authz, token)
    known = signed_in_for(s, authz.client_id)  # session, card and consent in one read
    browser = known.row if known is not None else None
    verdict = _verdict(s, authz, browser, card_usable=known.card_usable if known else None)
    if verdict.need is Need.UNSUPPORTED:
        return respond_error(authz, InvalidRequest("no essential acr value is supported"))
    if verdict.need is not Need.NOTHING:
        if "none" in authz.prompt:
            return respond_error(authz, _silent_refusal(verdict))
        return _interaction(s, authz, "signin")
    assert browser is not None
    return _after_login(s, authz, browser, interaction_id=None, acr=verdict.acr, known=known)


def _channel_signin(s: Session, authz: AuthorizationRequest, token: str) -> BaseResponse:
    """In-channel sign-in (docs/channel-assertion.md): the channel's assertion stands for the
    PIN; a refusal goes to the verified redirect_uri as invalid_request (CIBA Core 13)."""
    p = provider()
    uow = UnitOfWork(s, g.request_id)
    found = p.channel_signin.sign_in(uow, authz.client_id, token, p.now())
    if isinstance(found, str):
        log.info("login_hint_token refused: %s [%s]", found, g.request_id)
        return respond_error(authz, InvalidRequest("login_hint_token refused"))
    return _asserted_session(s, authz, found.person_id, found.assurance, interaction_id=None)


def continue_asserted(
    s: Session, interaction_id: str, person_id: str, a: Assurance
) -> BaseResponse | None:
    """The interaction after a channel vouched for the citizen on another device
    (scan-to-sign-in, idp.scan_signin): as in-channel sign-in; None if it is not this
    browser's open interaction."""
    loaded = _load(s, interaction_id)
    if loaded is None:
        return None
    return _asserted_session(s, loaded[1], person_id, a, interaction_id=interaction_id)


def _asserted_session(
    s: Session,
    authz: AuthorizationRequest,
    person_id: str,
    a: Assurance,
    *,
    interaction_id: str | None,
) -> BaseResponse:
    p = provider()
    # The assertion is this request's sign-in: it must meet the request's essential acr and
    # max_age itself (prompt=login is what it just did), or nothing is signed in.
    verdict = decide(
        replace(authz, prompt=tuple(v for v in authz.prompt if v != "login")),
        a,
        now=p.now(),
        face_max_age=p.settings.face_acr_max_age,
    )
    if verdict.need is Need.UNSUPPORTED:
        return respond_error(authz, InvalidRequest("no essential acr value is supported"))
    if verdict.need is not Need.NOTHING:
        log.info("login_hint_token too weak or too old: %s [%s]", a.acr, g.request_id)
        return respond_error(authz, UnmetAuthenticationRequirements("the assertion falls short"))
    new = start_session(
        s,
        p.token_hash,
        person_id=person_id,
        now=p.now(),
        ttl=p.settings.session_ttl,
        acr=a.acr,
        amr=a.amr,
    )
    new.row.auth_time = min(a.auth_time, p.now())  # OIDC Core 2: when the channel verified
    follow_into_session(s, person_id)
    response = _after_login(s, authz, new.row, interaction_id, acr=verdict.acr)
    set_session_cookie(response, new.cookie)
    return response


def _verdict(
    s: Session,
    authz: AuthorizationRequest,
    browser: BrowserSession | None,
    *,
    card_usable: bool | None = None,
) -> Verdict:
    """How the session answers the request (idp.interaction.step_up); a session whose card can
    no longer sign in counts as none. ``card_usable``: already read with the session."""
    p = provider()
    if browser is not None and card_usable is None:
        card_usable = SqlTokenStore(s, now=p.now()).person_may_sign_in(browser.person_id)
    if not card_usable:
        browser = None
    return decide(authz, browser, now=p.now(), face_max_age=p.settings.face_acr_max_age)


def _silent_refusal(verdict: Verdict) -> OAuthError:
    """OIDC Core 3.1.2.6 for ``prompt=none``: ``login_required`` when the PIN page would have
    been shown, ``interaction_required`` when the citizen must use the e-card app."""
    if verdict.need is Need.SIGN_IN:
        return LoginRequired("the user must sign in")
    return InteractionRequired("a stronger sign-in is required")


def _signed_in(authz: AuthorizationRequest) -> AuthorizationRequest:
    """The request as a sign-in just made answers it: ``prompt=login`` and ``max_age`` are
    satisfied by that sign-in; ``acr`` still has to be met."""
    return replace(authz, prompt=tuple(v for v in authz.prompt if v != "login"), max_age=None)


def _after_login(
    s: Session,
    authz: AuthorizationRequest,
    browser: BrowserSession,
    interaction_id: str | None,
    *,
    acr: str,
    known: SignedIn | None = None,
) -> BaseResponse:
    """Consent is per client even within one session (SSO skips only the sign-in).
    ``known``: the consent was read with the session (``GET /authorize``)."""
    if known is not None:
        consented = known.consent_covers(authz.scopes)
    else:
        consented = consent_covers(s, browser.person_id, authz.client_id, authz.scopes)
    if "consent" in authz.prompt or not consented:
        if "none" in authz.prompt:
            return respond_error(authz, ConsentRequired("consent is required"))
        if interaction_id is None:
            return _interaction(s, authz, "consent")
        return redirect(f"/interaction/{interaction_id}/consent", 303)
    reached = known is not None and known.reached
    return _issue(s, authz, browser, interaction_id, acr=acr, reached=reached)


def _interaction(s: Session, authz: AuthorizationRequest, step: str) -> BaseResponse:
    p = provider()
    row = create_interaction(
        s,
        authz,
        browser_hash=browser_hash(),
        now=p.now(),
        ttl=p.settings.interaction_ttl,
        hint_index=p.keyring.keyed_hash,
    )
    return redirect(f"/interaction/{row.id}/{step}", 303)


def _issue(
    s: Session,
    authz: AuthorizationRequest,
    browser: BrowserSession,
    interaction_id: str | None,
    *,
    acr: str,
    consent_given: bool = False,
    reached: bool = False,
) -> BaseResponse:
    """Complete the interaction, then remember a consent just given, then issue the code, all
    in the request's transaction: a consent is never stored for an interaction that could not
    finish (the early return comes before any write), and never without its code."""
    p = provider()
    if interaction_id is not None and not complete_interaction(s, interaction_id, p.now()):
        return error_page("expired", 400, locale=authz.ui_locale)
    if consent_given:
        remember_consent(s, browser.person_id, authz.client_id, authz.scopes, p.now())
        record_event(
            s,
            "consent.given",
            at=p.now(),
            person_id=browser.person_id,
            client_id=authz.client_id,
            request_id=g.request_id,
            scopes=list(authz.scopes),
        )
    ttl = fapi2.code_ttl(p.clients.get(authz.client_id), p.settings.authorization_code_ttl)
    code = issue_code(
        s, p.token_hash, authz, browser, acr=acr, now=p.now(), ttl=ttl, reached=reached
    )
    record_event(
        s,
        "authorization.granted",
        at=p.now(),
        person_id=browser.person_id,
        client_id=authz.client_id,
        request_id=g.request_id,
        scopes=list(authz.scopes),
    )
    return deliver(authz_response.success(authz, code, p.issuer), authz.ui_locale)


# -- the interaction: sign-in and consent pages -------------------------------------------
def _load(s: Session, interaction_id: str) -> tuple[Interaction, AuthorizationRequest] | None:
    p = provider()
    row = find_interaction(s, interaction_id, browser_hash=browser_hash(), now=p.now())
    if row is None:
        return None
    authz = AuthorizationRequest.from_json(row.request)
    framing.embed_for(authz.client_id)  # this interaction's pages, errors included
    return row, replace(authz, ui_locale=page_locale(authz.ui_locale))


@bp.route("/interaction/<interaction_id>/signin", methods=["GET", "POST"])
@unit_of_work
def signin(s: Session, interaction_id: str) -> BaseResponse:
    loaded = _load(s, interaction_id)
    if loaded is None:
        return error_page("expired", 400, locale="zh-CN")
    _, authz = loaded
    if request.method == "GET":
        # A live session means prompt=login or max_age asks again: the page says why.
        again = current_session(s) is not None
        return _signin_page(authz, interaction_id, error=None, status=200, again=again)
    if not csrf_ok(request.form.get("csrf_token")):
        return _signin_page(
            authz, interaction_id, error=text(authz.ui_locale)["bad_form"], status=400
        )
    credential = request.form.get("credential", "")[:32]
    pin = request.form.get("pin", "")[:16]
    p = provider()
    person = _signing_in(s, authz, credential)
    result = p.cardholders.sign_in(s, person, credential, pin)
    event = (
        "signin.succeeded" if result.ok else ("signin.locked" if result.locked else "signin.failed")
    )
    record_event(
        s,
        event,
        at=p.now(),
        person_id=person.id if person else None,
        client_id=authz.client_id,
        request_id=g.request_id,
    )
    if not result.ok or person is None:
        if result.locked:
            LOCKOUTS.inc()  # one lockout refused; its audit event commits with this request
        return _signin_page(
            authz,
            interaction_id,
            error=wrong_pin_message(authz.ui_locale, result),
            status=429 if result.locked else 401,
            credential=pages.kept_credential(credential),
        )
    if not SqlTokenStore(s, now=p.now()).person_may_sign_in(person.id):
        return _signin_page(
            authz, interaction_id, error=text(authz.ui_locale)["card_unusable"], status=403
        )
    browser = current_session(s)
    cookie = None
    if browser is not None and browser.person_id == person.id:
        reauthenticate(browser, now=p.now())
    else:
        new = start_session(
            s, p.token_hash, person_id=person.id, now=p.now(), ttl=p.settings.session_ttl
        )
        browser, cookie = new.row, new.cookie
        follow_into_session(s, person.id)
    verdict = _verdict(s, _signed_in(authz), browser)
    if verdict.need is Need.NOTHING:
        response = _after_login(s, authz, browser, interaction_id, acr=verdict.acr)
    else:  # the PIN cannot reach the essential acr: the page says to use the e-card app
        response = _signin_page(authz, interaction_id, error=None, status=200)
    if cookie is not None:
        set_session_cookie(response, cookie)
    return response


def _signing_in(s: Session, authz: AuthorizationRequest, credential: str) -> Person | None:
    """The cardholder the form names: the prefilled masked ID number stands for the hint's
    blind index (idp.interaction.signin.stored_hint); anything typed is a card or ID number."""
    if authz.login_hint_index is not None and credential.strip().upper() == authz.login_hint:
        return hinted_person(s, authz)
    return provider().cardholders.find_by_credential(s, credential) if credential else None


def _signin_page(
    authz: AuthorizationRequest,
    interaction_id: str,
    *,
    error: str | None,
    status: int,
    credential: str = "",
    again: bool = False,
) -> BaseResponse:
    """``error``: the message to show, already in the page's language; ``credential``: what
    the citizen typed, kept so a wrong PIN does not make them type the card number again;
    ``again``: the citizen is signed in and asked to re-enter the PIN."""
    p = provider()
    client = p.clients.get(authz.client_id)
    locale = authz.ui_locale
    page = render_template(
        "oauth/signin.html",
        t=text(locale),
        locale=locale,
        switch_url=switch_url(locale),
        client_name=client.name if client else "",
        action=f"/interaction/{interaction_id}/signin",
        cancel=f"/interaction/{interaction_id}/cancel",
        csrf_token=csrf_token(),
        error=error,
        login_hint=credential or authz.login_hint or "",
        step_up=needs_app(authz),
        again=again,
        scan_url=f"/interaction/{interaction_id}/scan",
    )
    return pages.html(page, status, form_to=authz.redirect_uri)


@bp.route("/interaction/<interaction_id>/consent", methods=["GET", "POST"])
@unit_of_work
def consent(s: Session, interaction_id: str) -> BaseResponse:
    loaded = _load(s, interaction_id)
    browser = current_session(s)
    if loaded is None or browser is None:
        return error_page("expired", 400, locale=loaded[1].ui_locale if loaded else "zh-CN")
    _, authz = loaded
    locale = authz.ui_locale
    if request.method == "GET":
        client = provider().clients.get(authz.client_id)
        labels = [scope_label(locale, s) for s in authz.scopes if s in SCOPE_TEXT]
        page = render_template(
            "oauth/consent.html",
            t=text(locale),
            locale=locale,
            switch_url=switch_url(locale),
            client_name=client.name if client else "",
            labels=labels,
            action=f"/interaction/{interaction_id}/consent",
            csrf_token=csrf_token(),
        )
        return pages.html(page, 200, form_to=authz.redirect_uri)
    if not csrf_ok(request.form.get("csrf_token")):
        return error_page("bad_form", 400, locale=locale)
    p = provider()
    if request.form.get("decision") != "approve":
        complete_interaction(s, interaction_id, p.now())
        record_event(
            s,
            "consent.denied",
            at=p.now(),
            person_id=browser.person_id,
            client_id=authz.client_id,
            request_id=g.request_id,
        )
        return respond_error(authz, AccessDenied("the user denied the request"))
    verdict = _verdict(s, _signed_in(authz), browser)
    if verdict.need is not Need.NOTHING:  # the session changed since the sign-in page
        return redirect(f"/interaction/{interaction_id}/signin", 303)
    return _issue(s, authz, browser, interaction_id, acr=verdict.acr, consent_given=True)
