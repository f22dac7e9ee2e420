"""The HTML answer of an interaction page and its Content-Security-Policy (CSP Level 3).

No inline script or style anywhere, so ``script-src``/``style-src`` are ``'self'`` only.
``form-action`` is ``'self'`` plus the client's redirect origin where a form leads there: the
form_post page posts to it (OAuth 2.0 Form Post Response Mode, section 2), and Chromium checks
``form-action`` against the redirect that follows a sign-in or consent POST too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response

from idp.cardholders.gb11643 import InvalidIdNumber
from idp.cardholders.gb11643 import normalize_id_number
from idp.cardholders.service import EnrolmentError
from idp.cardholders.service import normalize_card_number
from idp.http.http import NO_STORE

BASE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def policy(form_to: str | None = None) -> str:
    """The page's CSP; ``form_to``: a URI its forms may lead to, allowed by its origin."""
    targets = ["'self'"]
    if form_to:
        parts = urlsplit(form_to)
        if parts.scheme in ("https", "http") and parts.netloc:
            targets.append(f"{parts.scheme}://{parts.netloc}")
    return f"{BASE_POLICY}; form-action {' '.join(targets)}"


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
