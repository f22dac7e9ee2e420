"""The answers of the browser-facing pages (the interaction's, logout's) and what they share:
one transaction per request (``unit_of_work``), the HTML answer with its Content-Security-Policy
(CSP Level 3), the error page, and the authorization response (redirect or form_post).

No inline script or style anywhere, so ``script-src``/``style-src`` are ``'self'`` only.
``form-action`` is ``'self'`` plus the client's redirect URI where a form leads there: the
form_post page posts to it (OAuth 2.0 Form Post Response Mode, section 2), and Chromium checks
``form-action`` against the redirect that follows a sign-in or consent POST too.
``frame-ancestors`` is ``'none'`` except on the pages of a client that registered origins to
embed them (``idp.http.framing``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Concatenate
from typing import ParamSpec
from urllib.parse import urlsplit

from flask import Response
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from idp.cardholders.gb11643 import InvalidIdNumber
from idp.cardholders.gb11643 import normalize_id_number
from idp.cardholders.service import EnrolmentError
from idp.cardholders.service import normalize_card_number
from idp.errors import OAuthError
from idp.http import framing
from idp.http.http import NO_STORE
from idp.http.http import provider
from idp.interaction.elder_return import return_to
from idp.interaction.i18n import next_step
from idp.interaction.i18n import text
from idp.interaction.language import page_locale
from idp.oauth import response as authz_response
from idp.oauth.authorize import AuthorizationRequest

_Args = ParamSpec("_Args")

#: A path an error page may link back to: no percent-encoding, nothing a refusal could carry.
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9/_-]{0,127}")

BASE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'"
)


#: What a CSP source expression's host and path may hold (CSP3 2.3.1 host-source, path-part):
#: RFC 3986 characters without ``;`` and ``,``, which would end the directive or the policy.
_SOURCE = re.compile(
    r"https?://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(/[A-Za-z0-9\-._~!$&'()*+=:@%/]*)?"
)


def form_source(uri: str) -> str | None:
    """The client's redirect URI in play (exactly registered, checked by ``check_redirect_uri``)
    as a ``form-action`` source: the URI itself without its query, so a form may lead to that
    endpoint and no other page of the client's site; ``None`` for anything else."""
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.netloc or "@" in parts.netloc:
        return None
    source = f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"
    return source if _SOURCE.fullmatch(source) else None


def policy(form_to: str | None = None) -> str:
    """The page's CSP; ``form_to``: the client's redirect URI its forms may lead to (the
    form_post page, or the redirect that follows a sign-in or consent POST), never ``*``."""
    targets = ["'self'"]
    source = form_source(form_to) if form_to else None
    if source:
        targets.append(source)
    ancestors = framing.frame_ancestors()  # 'none' unless the client embeds it (idp.http.framing)
    return f"{BASE_POLICY}; frame-ancestors {ancestors}; form-action {' '.join(targets)}"


def html(page: str, status: int, *, form_to: str | None = None) -> Response:
    headers = {**NO_STORE, "Content-Security-Policy": policy(form_to)}
    return Response(page, status, headers=headers, content_type="text/html; charset=utf-8")


def kept_credential(typed: str) -> str:
    """What the sign-in form shows again after a refused PIN: a card number as typed, so the
    citizen only retypes the PIN. An ID number is never echoed (personal data is masked in
    outputs), nor anything that is not a card number's shape."""
    try:
        card_number = normalize_card_number(typed)
    except EnrolmentError:
        return ""
    try:
        normalize_id_number(card_number)
    except InvalidIdNumber:
        return card_number
    return ""


def unit_of_work(
    view: Callable[Concatenate[Session, _Args], BaseResponse],
) -> Callable[_Args, BaseResponse]:
    """One transaction per request (issue 7, item 3), opened here at the edge and handed to all
    the view calls. It commits when the view returns, whatever page that is (a wrong PIN's
    count must stand), and rolls back when it raises: a sign-in, a consent and the code they
    lead to are stored together or not at all, and a response is built before its writes
    commit, so no cookie or code leaves for a write that did not."""

    @functools.wraps(view)
    def in_one_transaction(*args: _Args.args, **kwargs: _Args.kwargs) -> BaseResponse:
        with provider().db.transaction() as s:
            return view(s, *args, **kwargs)

    return in_one_transaction


def respond_error(authz: AuthorizationRequest, error: OAuthError) -> BaseResponse:
    return deliver(authz_response.failure(authz, error, provider().issuer), authz.ui_locale)


def deliver(result: authz_response.AuthorizationResponse, locale: str) -> BaseResponse:
    if result.mode == "form_post":
        page = render_template(
            "oauth/form_post.html",
            t=text(locale),
            locale=locale,
            action=result.redirect_uri,
            fields=result.fields,
        )
        return html(page, 200, form_to=result.redirect_uri)
    response = redirect(result.location(), 303)
    response.headers.update(NO_STORE)
    return response


def error_page(key: str, status: int, *, locale: str) -> BaseResponse:
    """The plain-words page for ``key`` (idp.interaction.i18n TEXT and NEXT_STEP), in the
    language the citizen chose if they did (idp.interaction.language), else ``locale``."""
    locale = page_locale(locale)
    # The switches of an error page link to its path alone, and only to a plain one: an error
    # page must not echo what it refused (a hostile query, client_id or interaction id).
    plain = _PLAIN_PATH.fullmatch(request.path) is not None
    g.ui_next = return_to(keep_query=False) if plain else None
    page = render_template(
        "oauth/error.html",
        switch_url=_language_switch(locale) if plain else None,
        t=text(locale),
        message=text(locale)[key],
        next_step=next_step(locale, key),
        request_id=g.request_id,
        locale=locale,
    )
    return html(page, status)


def _language_switch(locale: str) -> str | None:
    """The error page in the other language: its path again, except where the path alone is
    another request (``/authorize`` and ``/logout`` without their parameters)."""
    if request.path in ("/authorize", "/logout", "/logout/confirm"):
        return None
    return f"{request.path}?lang={'zh-CN' if locale == 'en' else 'en'}"
