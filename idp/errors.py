"""Errors: one class per OAuth 2.0 / OIDC error code, and RFC 7807 problems for product APIs.

Each ``OAuthError`` carries a short ASCII public ``description`` fixed by the code that raises it
(never request input, RFC 6749 5.2 restricts the character set) and a private ``detail`` that goes
to the log and the audit trail only (node-oidc-provider's ``error_description``/``error_detail``).
"""

from __future__ import annotations

from typing import Any
from typing import ClassVar


class KeepsWrites(Exception):
    """An error raised after writes that must stand: the transaction commits them, then the
    error propagates (a reused code or refresh token has revoked its grant; a wrong PIN has
    counted towards the lockout). ``idp.store.database.Database.transaction`` is the one place
    that checks for it; a subclass also derives from ``OAuthError`` or ``Problem`` for its
    answer."""


class OAuthError(Exception):
    """Base of every protocol error. Subclasses fix ``error`` and the HTTP status."""

    error: ClassVar[str] = "invalid_request"
    status_code: ClassVar[int] = 400

    def __init__(self, description: str, *, detail: str | None = None) -> None:
        super().__init__(description)
        self.description = _ascii_description(description)
        self.detail = detail or description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}

    def headers(self) -> dict[str, str]:
        return {}


def _ascii_description(text: str) -> str:
    # RFC 6749 5.2: %x20-21 / %x23-5B / %x5D-7E. Anything else would be a programming error here.
    allowed = all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in text)
    return text if allowed else "invalid request"


class InvalidRequest(OAuthError):
    error = "invalid_request"


class MethodNotAllowed(InvalidRequest):
    """RFC 9110 15.5.6: 405 with ``Allow``; the body stays an RFC 6749 error."""

    status_code = 405

    def headers(self) -> dict[str, str]:
        return {"Allow": "POST"}


class RequestTooLarge(InvalidRequest):
    """RFC 9110 15.5.14: 413, refused before the body is parsed."""

    status_code = 413


class InvalidClient(OAuthError):
    """RFC 6749 5.2: 401, with a challenge naming the scheme the client tried."""

    error = "invalid_client"
    status_code = 401

    def __init__(self, description: str, *, detail: str | None = None, basic: bool = False):
        super().__init__(description, detail=detail)
        self.basic = basic

    def headers(self) -> dict[str, str]:
        if self.basic:
            return {"WWW-Authenticate": 'Basic realm="essc-idp"'}
        return {}


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"
    status_code = 403


class LoginRequired(OAuthError):
    """OIDC Core 3.1.2.6."""

    error = "login_required"


class ConsentRequired(OAuthError):
    error = "consent_required"


class UnmetAuthenticationRequirements(OAuthError):
    """OpenID Connect Core Unmet Authentication Requirements 1.0: the sign-in that happened
    (here a channel's assertion) does not meet the essential ``acr`` or ``max_age`` asked for."""

    error = "unmet_authentication_requirements"


class InteractionRequired(OAuthError):
    """OIDC Core 3.1.2.6: the user must interact, here to sign in with a stronger factor than
    essc-idp's own page offers (the e-card app), which ``prompt=none`` forbids."""

    error = "interaction_required"


class RequestNotSupported(OAuthError):
    error = "request_not_supported"


class InvalidRequestObject(OAuthError):
    """RFC 9101 6.3 (OIDC Core 6.4): the request object is malformed, not signed by one of the
    client's keys, for another audience, expired or otherwise unusable."""

    error = "invalid_request_object"


class InvalidRequestUri(OAuthError):
    """RFC 9101 6.2, used by RFC 9126 4 for a pushed request that cannot be used."""

    error = "invalid_request_uri"


class RequestUriNotSupported(OAuthError):
    error = "request_uri_not_supported"


class TooManyRequests(OAuthError):
    """A client past its rate limit (idp.ratelimit); RFC 6749 has no closer code than
    ``temporarily_unavailable`` (4.1.2.1). ``Retry-After``: RFC 9110 10.2.3."""

    error = "temporarily_unavailable"
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many requests")
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServerError(OAuthError):
    error = "server_error"
    status_code = 500


class InvalidToken(OAuthError):
    """RFC 6750 3.1: a protected resource answers 401 with a Bearer challenge."""

    error = "invalid_token"
    status_code = 401

    def headers(self) -> dict[str, str]:
        return {
            "WWW-Authenticate": (
                f'Bearer realm="essc-idp", error="{self.error}", '
                f'error_description="{self.description}"'
            )
        }


class MissingBearerToken(InvalidToken):
    """RFC 6750 3.1: with no credentials at all, the challenge carries no error code."""

    error = "invalid_request"
    status_code = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="essc-idp"'}


class InvalidBearerRequest(InvalidToken):
    """RFC 6750 3.1: a malformed request to a protected resource is a 400, with a challenge."""

    error = "invalid_request"
    status_code = 400


class InsufficientScope(InvalidToken):
    error = "insufficient_scope"
    status_code = 403


class InvalidDpopProof(OAuthError):
    """RFC 9449 4.3, 5: the ``DPoP`` proof at the token endpoint is missing, malformed or not
    this request's. ``nonce`` is a fresh server nonce to send with it (8), if one is required."""

    error = "invalid_dpop_proof"

    def __init__(
        self, description: str, *, detail: str | None = None, nonce: str | None = None
    ) -> None:
        super().__init__(description, detail=detail)
        self.nonce = nonce

    def headers(self) -> dict[str, str]:
        return {"DPoP-Nonce": self.nonce} if self.nonce else {}


class UseDpopNonce(InvalidDpopProof):
    """RFC 9449 8: the proof must carry the nonce the ``DPoP-Nonce`` header gives."""

    error = "use_dpop_nonce"


class DpopChallenge(InvalidToken):
    """RFC 9449 7.1: a resource refuses a DPoP request, or a DPoP-bound token sent as
    ``Bearer``, with a ``DPoP`` challenge (and a fresh ``DPoP-Nonce`` when one is required).
    ``error`` is ``invalid_token``, ``invalid_dpop_proof`` or ``use_dpop_nonce``."""

    #: RFC 9449 7.1 ``algs``: kept equal to ``idp.oauth.rfc9449_dpop.ALGS``.
    ALGS = "ES256 PS256 EdDSA"

    def __init__(
        self,
        description: str,
        *,
        code: str = "invalid_token",
        detail: str | None = None,
        nonce: str | None = None,
    ) -> None:
        super().__init__(description, detail=detail)
        self.code = code
        self.nonce = nonce

    def body(self) -> dict[str, str]:
        return {"error": self.code, "error_description": self.description}

    def headers(self) -> dict[str, str]:
        headers = {"WWW-Authenticate": self.challenge()}
        if self.nonce:
            headers["DPoP-Nonce"] = self.nonce
        return headers

    def challenge(self) -> str:
        return (
            f'DPoP realm="essc-idp", error="{self.code}", '
            f'error_description="{self.description}", algs="{self.ALGS}"'
        )


class Problem(Exception):
    """RFC 7807 problem details for essc-idp's own JSON APIs.

    ``type`` is a URI under the issuer's ``/problems/`` namespace documented in ``docs/api.md``;
    ``detail`` may be localised text but never echoes raw input.
    """

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.extensions = extensions
        #: Response headers beside the body: a ``DPoP`` challenge and ``DPoP-Nonce`` (RFC 9449 7.1).
        self.headers: dict[str, str] = {}

    def body(self, issuer: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"{issuer}/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extensions)
        return body


class InvalidClientMetadata(OAuthError):
    """RFC 7591 3.2.2: a metadata field is invalid or not allowed for this channel."""

    error = "invalid_client_metadata"


class InvalidRedirectUri(OAuthError):
    """RFC 7591 3.2.2."""

    error = "invalid_redirect_uri"


class InvalidSoftwareStatement(OAuthError):
    """RFC 7591 3.2.2: malformed, forged, expired or already used."""

    error = "invalid_software_statement"


class UnapprovedSoftwareStatement(OAuthError):
    """RFC 7591 3.2.2: not signed by the operator's onboarding key, or no longer approved."""

    error = "unapproved_software_statement"
