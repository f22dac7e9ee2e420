"""The browser side of a sign-in: the flow cookie (Flask's signed session) carries a random
browser id, which binds interactions to the browser that started them, and the CSRF token."""

from __future__ import annotations

import hmac
import secrets

from flask import request
from flask import session
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from idp.http.http import provider
from idp.interaction.signin import SignedIn
from idp.interaction.signin import find_session
from idp.interaction.signin import find_signed_in
from idp.store.grants import BrowserSession

SESSION_COOKIE = "essc_session"
FLOW_COOKIE = "essc_flow"
#: RFC 6265bis 4.1.3.2: a ``__Host-`` cookie is Secure, has Path=/ and no Domain, so no other
#: host (a sibling subdomain) can set or shadow it. Used by a production https instance.
HOST_PREFIX = "__Host-"


def host_cookies(production: bool, issuer: str) -> bool:
    return production and issuer.startswith("https://")


def cookie_name(base: str) -> str:
    """The cookie's name: ``__Host-`` prefixed in production over https."""
    s = provider().settings
    return HOST_PREFIX + base if host_cookies(s.production, s.issuer) else base


def browser_hash() -> str:
    if "bid" not in session:
        session["bid"] = secrets.token_urlsafe(24)
    return provider().token_hash(f"browser:{session['bid']}")


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def csrf_ok(submitted: str | None) -> bool:
    expected = session.get("csrf")
    if not expected or not submitted:
        return False
    # Bytes: compare_digest raises TypeError on a str with non-ASCII characters.
    return hmac.compare_digest(str(expected).encode(), submitted.encode())


def session_cookie_hash() -> str | None:
    value = request.cookies.get(cookie_name(SESSION_COOKIE))
    if not value or len(value) > 64:
        return None
    return provider().token_hash(value)


def current_session(s: Session) -> BrowserSession | None:
    """The signed-in session the browser's cookie names, read in the request's transaction."""
    cookie_hash = session_cookie_hash()
    if cookie_hash is None:
        return None
    return find_session(s, cookie_hash, provider().now())


def signed_in_for(s: Session, client_id: str) -> SignedIn | None:
    """``current_session`` with its card status and ``client_id``'s consent, in one read."""
    cookie_hash = session_cookie_hash()
    if cookie_hash is None:
        return None
    return find_signed_in(s, cookie_hash, client_id, provider().now())


def clear_session_cookie(response: BaseResponse) -> None:
    response.delete_cookie(
        cookie_name(SESSION_COOKIE),
        path="/",
        httponly=True,
        secure=provider().issuer.startswith("https://"),
        samesite="Lax",
    )


def set_session_cookie(response: BaseResponse, value: str) -> None:
    p = provider()
    response.set_cookie(
        cookie_name(SESSION_COOKIE),
        value,
        max_age=p.settings.session_ttl,
        path="/",
        httponly=True,
        secure=p.issuer.startswith("https://"),
        samesite="Lax",
    )
