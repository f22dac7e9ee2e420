"""Which plain-words page answers an authorization request that cannot go back to its client.

RFC 6749 4.1.2.1: when the client or its redirect URI cannot be trusted, the error is shown to
the citizen and never redirected. The citizen cannot act on ``invalid_request``, so the page
says what happened in their words (idp.interaction.i18n TEXT and NEXT_STEP): an application
essc-idp does not know, or a return address it does not know, is what a phishing site's
link looks like, so those two pages warn against typing the PIN; a used or expired pushed
request only needs a fresh start.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence

from channels.client import Client
from idp.errors import InvalidRequestUri
from idp.errors import OAuthError
from idp.oauth.authorize import first_ui_locale


def untrusted_page(
    items: Sequence[tuple[str, str]],
    find_client: Callable[[str], Client | None],
    error: OAuthError,
) -> str:
    """The error page's key (idp.interaction.i18n.TEXT) for a refusal that cannot be
    redirected: which of the routing checks (idp.oauth.authorize) refused it."""
    if isinstance(error, InvalidRequestUri):
        return "request_used"
    client_ids = [value for name, value in items if name == "client_id"]
    if len(client_ids) != 1:
        return "bad_request"
    client = find_client(client_ids[0]) if len(client_ids[0]) <= 255 else None
    if client is None or not client.active:
        return "unknown_app"
    redirect_uris = [value for name, value in items if name == "redirect_uri"]
    if len(redirect_uris) == 1 and not client.allows_redirect(redirect_uris[0]):
        return "unknown_return"
    return "bad_request"


def raw_locale(items: Sequence[tuple[str, str]]) -> str:
    """The page language the request asked for, read before the request was validated: an
    error page is the one page that must be readable when nothing else in it is."""
    for name, value in items:
        if name == "ui_locales":
            return first_ui_locale(value[:64])
    return first_ui_locale(None)
