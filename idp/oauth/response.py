"""Authorization responses: query (RFC 6749 4.1.2) or form_post (OAuth 2.0 Form Post Response
Mode), always with ``iss`` (RFC 9207 2) so the client can tell which server answered."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from idp.errors import OAuthError
from idp.oauth.authorize import AuthorizationRequest


@dataclass(frozen=True)
class AuthorizationResponse:
    redirect_uri: str
    mode: str
    fields: tuple[tuple[str, str], ...]

    def location(self) -> str:
        """The redirect URL for ``query`` mode, keeping the registered URI's own query."""
        parts = urlsplit(self.redirect_uri)
        query = parse_qsl(parts.query, keep_blank_values=True) + list(self.fields)
        return urlunsplit(parts._replace(query=urlencode(query)))


def success(request: AuthorizationRequest, code: str, issuer: str) -> AuthorizationResponse:
    fields = [("code", code)]
    if request.state is not None:
        fields.append(("state", request.state))
    fields.append(("iss", issuer))
    return AuthorizationResponse(request.redirect_uri, request.response_mode, tuple(fields))


def failure(request: AuthorizationRequest, error: OAuthError, issuer: str) -> AuthorizationResponse:
    fields = [("error", error.error), ("error_description", error.description)]
    if request.state is not None:
        fields.append(("state", request.state))
    fields.append(("iss", issuer))
    return AuthorizationResponse(request.redirect_uri, request.response_mode, tuple(fields))
