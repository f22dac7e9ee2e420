"""Where the 长辈版 switch brings the citizen back (``idp.interaction.elder_switch``), always as a
GET: the page itself, or, for a page drawn by a POST to a path that has no GET (a form's
answer), the page that form belongs to (``BACK``), so the switch never leads to a 405.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit

from flask import current_app
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound

from idp.interaction.elder import PARAM

#: Longest ``next`` the switch takes back (a page's path and query).
MAX_NEXT = 2048
_DAUGHTER, _FATHER = "/demo/family/daughter", "/demo/family/father"


def _interaction(page: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda args: f"/interaction/{quote(str(args['interaction_id']), safe='')}/{page}"


def _fixed(path: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda _: path


#: POST-only endpoints that draw a page → the GET page their form belongs to.
BACK: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "interaction_cancel.cancel": _interaction("signin"),
    "scan_signin_pc.complete": _interaction("scan"),
    "logout.confirm": _fixed("/logout"),
    "my_authorizations.revoke_one": _fixed("/my/authorizations"),
    "my_family.end": _fixed("/my/family"),
    "demo_phone.confirm": _fixed("/demo/phone"),
    "demo_scan_phone.decide": _fixed("/demo/phone/scan"),
    "demo_family.ask": _fixed(_DAUGHTER),
    "demo_family.show_code": _fixed(_DAUGHTER),
    "demo_family.start_pension": _fixed(_DAUGHTER),
    "demo_family.finish_pension": _fixed(_DAUGHTER),
    "demo_family.consent": _fixed(_FATHER),
    "demo_family.confirm_pension": _fixed(_FATHER),
}


def page_of(path: str, query: list[tuple[str, str]]) -> str | None:
    """The GET page for ``path`` (with ``query``): itself when it answers GET (a not-found
    path too: its page comes back in the other form), else its form's page; None if none."""
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(path, method="GET")
    except MethodNotAllowed:
        try:
            endpoint, args = adapter.match(path, method="POST")
        except HTTPException:
            return None
        back = BACK.get(str(endpoint))
        return back(args) if back is not None else None
    except NotFound:
        pass
    except HTTPException:  # a redirect (a missing slash) or a refused path
        return None
    return quote(path) + (f"?{urlencode(query)}" if query else "")


def return_to(*, keep_query: bool = True) -> str | None:
    """Where the switch on this page brings the citizen back."""
    query = [(k, v) for k, v in request.args.items(multi=True) if k != PARAM]
    return page_of(request.path, query if keep_query else [])


def next_page(submitted: str) -> str | None:
    """``next`` as a page of ours: a local path (no scheme, no host) that has a GET page."""
    if not submitted or len(submitted) > MAX_NEXT or not submitted.isprintable():
        return None
    parts = urlsplit(submitted)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or "\\" in submitted:
        return None
    if parts.path.startswith("//"):
        return None
    return page_of(parts.path, parse_qsl(parts.query, keep_blank_values=True))
