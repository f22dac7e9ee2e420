"""Who may frame a page (CSP Level 3 ``frame-ancestors``; RFC 7034 ``X-Frame-Options``).

No page may be framed (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``: clickjacking)
except the pages of an authorization request whose client registered origins to embed them
(``essc_embed_origins``, ``channels.embedding``): the view that has loaded that request calls
``embed_for``, and the pages it answers, errors included, list those origins instead. They go
without ``X-Frame-Options``, which can name no origin (``ALLOW-FROM`` is obsolete) and which
CSP3 6.4.2 lets ``frame-ancestors`` supersede. Per request: nothing outlives ``flask.g``.
"""

from __future__ import annotations

from flask import g
from flask import has_app_context

from channels.embedding import exact_origin
from idp.http.http import provider

NONE = "'none'"


def embed_for(client_id: str) -> None:
    """The rest of this request's pages may be framed by ``client_id``'s registered origins."""
    p = provider()
    client = p.clients.get(client_id)
    origins = client.embed_origins if client is not None and client.active else ()
    loopback = not p.settings.production
    g.essc_frame_ancestors = tuple(
        o for o in origins if exact_origin(o, allow_http_loopback=loopback)
    )


def frame_ancestors() -> str:
    """The ``frame-ancestors`` source list of the page being answered."""
    origins: tuple[str, ...] = g.get("essc_frame_ancestors", ()) if has_app_context() else ()
    return " ".join(origins) if origins else NONE


def names_ancestors(policy: str) -> bool:
    """Whether ``policy`` (a CSP header value) lets some origin frame the page; a policy
    without the directive does not, so the page still gets ``X-Frame-Options: DENY``."""
    for directive in policy.split(";"):
        name, _, value = directive.strip().partition(" ")
        if name == "frame-ancestors":
            return value.strip() not in ("", NONE)
    return False
