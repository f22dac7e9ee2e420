"""The access token a caller presents in its ``Authorization`` header (RFC 6750 2.1).

The one reading of that header for every protected resource (``/userinfo``, the channel APIs'
Bearer path, the RFC 7592 client configuration endpoint). It returns the scheme with the token:
``bearer``, or ``dpop`` for a DPoP-bound token (RFC 9449 7.1, ``Authorization: DPoP <token>``),
which a resource accepts only with the proof check of ``idp.oauth.rfc9449_dpop``. Each resource
checks the scheme it got: one that knows only ``bearer`` refuses others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from idp.errors import InvalidToken

#: Schemes whose credentials are an access token, lower case (RFC 9110 11.1: case-insensitive).
TOKEN_SCHEMES = frozenset({"bearer", "dpop"})
#: Longer than any token this server issues (an RFC 9068 JWT is well under 2 KiB).
MAX_TOKEN_LENGTH = 4096
#: RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@dataclass(frozen=True)
class PresentedToken:
    #: Lower case: ``bearer`` or ``dpop`` (RFC 9449 7.1).
    scheme: str
    token: str


def presented_token(header: str | None) -> PresentedToken | None:
    """The token in ``Authorization: <scheme> <token>``; None without the header or when it
    names a scheme that carries no access token (``Basic``, a channel's signature scheme).

    ``InvalidToken`` when the scheme is a token scheme but the token is not a b64token.
    """
    if header is None:
        return None
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    if scheme not in TOKEN_SCHEMES:
        return None
    token = credentials.strip(" \t")
    if len(token) > MAX_TOKEN_LENGTH or not _B64TOKEN.fullmatch(token):
        raise InvalidToken("the access token is malformed")
    return PresentedToken(scheme, token)
