"""``Client``: what the protocol needs to know about a channel, free of storage and Flask."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from channels.kinds import ChannelKind

AUTH_METHODS = ("private_key_jwt", "client_secret_basic", "client_secret_post")
#: RFC 8705 2: mutual-TLS client authentication, the certificate forwarded by the TLS proxy.
MTLS_AUTH_METHODS = ("tls_client_auth", "self_signed_tls_client_auth")
#: RFC 8693 token exchange: a channel allowed it (``essc clients add --allow-token-exchange``)
#: lets a cardholder act for a relative (docs/family.md).
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials", TOKEN_EXCHANGE)
SUBJECT_TYPES = ("pairwise", "public")


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    kind: ChannelKind
    status: str
    redirect_uris: tuple[str, ...]
    grant_types: frozenset[str]
    scopes: frozenset[str]
    token_endpoint_auth_method: str
    secret_hash: str | None
    jwks: dict[str, Any] | None
    jwks_uri: str | None
    sector_identifier: str
    subject_type: str
    id_token_signed_response_alg: str
    rotate_refresh_tokens: bool
    #: RFC 9126 6: authorization requests only through ``/par``.
    require_pushed_authorization_requests: bool = False
    #: OIDC RP-Initiated Logout 1.0 3.1: where a logout may send the browser back, exactly.
    post_logout_redirect_uris: tuple[str, ...] = ()
    #: OIDC Back-Channel Logout 1.0 2.2: where logout tokens are posted; None: not sent.
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = False
    #: RFC 9449 5.2: every token request must carry a DPoP proof.
    dpop_bound_access_tokens: bool = False
    #: OIDC Registration 2 ``id_token_encrypted_response_alg`` / ``_enc``: ID tokens are signed,
    #: then encrypted to the client's ``use: enc`` key (``idp.oidc.jwe``); None: signed only.
    id_token_encrypted_response_alg: str | None = None
    id_token_encrypted_response_enc: str | None = None
    #: RFC 8705 2.1.2: the subject DN of the client certificate (``tls_client_auth``).
    tls_client_auth_subject_dn: str | None = None
    #: RFC 8705 3.4: every token request must come over mutual TLS; tokens carry x5t#S256.
    tls_client_certificate_bound_access_tokens: bool = False
    #: RFC 9101 10.5: authorization requests only as signed request objects.
    require_signed_request_object: bool = False
    #: The FAPI 2.0 Security Profile (``idp.oauth.fapi2``, docs/security-profile.md).
    fapi2_security_profile: bool = False
    #: Origins that may frame the pages of this client's authorization requests
    #: (``channels.embedding``; CSP3 ``frame-ancestors``); none: no one may.
    embed_origins: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.status == "active"

    def allows_grant(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    def allows_redirect(self, redirect_uri: str) -> bool:
        """Exact string match (RFC 9700 2.1, OAuth 2.1 draft 4.1.3)."""
        return redirect_uri in self.redirect_uris
