"""The origins a channel registers to embed its citizens' sign-in pages (``essc_embed_origins``).

Each becomes a CSP Level 3 ``frame-ancestors`` source (CSP3 2.3.1 ``host-source``) on the pages
of that channel's authorization requests (``idp.interaction.pages``), so each must be one exact
origin (RFC 6454 4) a policy cannot be widened or ended by: ``scheme://host[:port]``, lower case,
no path, no wildcard, no userinfo, nothing after it. ``https`` only; ``http`` on loopback where
``http://`` loopback redirect URIs are allowed (not in production). Pure.
"""

from __future__ import annotations

import re

#: Field name in client metadata (RFC 7591 2 allows extensions) and in the information answer.
FIELD = "essc_embed_origins"
MAX_ORIGINS = 10
MAX_ORIGIN_LENGTH = 256
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PORT = r"(?::(?:[1-9][0-9]{0,4}))?"
#: A DNS name of labels, or a dotted IPv4 address (which the label rule also admits).
_HTTPS = re.compile(rf"https://{_LABEL}(?:\.{_LABEL})*{_PORT}")
_LOOPBACK = re.compile(rf"http://(?:127\.0\.0\.1|localhost|\[::1\]){_PORT}")


class InvalidEmbedOrigin(ValueError):
    """One of the origins is not an exact https origin; the message names no input."""


def check_embed_origins(origins: object, *, allow_http_loopback: bool) -> tuple[str, ...]:
    """The origins, deduplicated in order, or ``InvalidEmbedOrigin``."""
    if not isinstance(origins, (list, tuple)) or len(origins) > MAX_ORIGINS:
        raise InvalidEmbedOrigin(f"{FIELD} must be an array of at most {MAX_ORIGINS} origins")
    for origin in origins:
        if not exact_origin(origin, allow_http_loopback=allow_http_loopback):
            raise InvalidEmbedOrigin(
                f"{FIELD} must hold exact https origins (scheme://host[:port])"
            )
    return tuple(dict.fromkeys(origins))


def exact_origin(origin: object, *, allow_http_loopback: bool) -> bool:
    """One origin a ``frame-ancestors`` source may be (checked again where the header is
    built, so a row edited by hand cannot widen or end the policy)."""
    if not isinstance(origin, str) or not 0 < len(origin) <= MAX_ORIGIN_LENGTH:
        return False
    if not origin.isascii():  # lone surrogates, full-width dots and look-alikes
        return False
    if not _port_in_range(origin):
        return False
    if _HTTPS.fullmatch(origin):
        return True
    return allow_http_loopback and _LOOPBACK.fullmatch(origin) is not None


def _port_in_range(origin: str) -> bool:
    _, _, tail = origin.rpartition(":")
    return not tail.isdigit() or 0 < int(tail) <= 65535
