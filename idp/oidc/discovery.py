"""Provider metadata (OIDC Discovery 1.0 3, RFC 8414 2), validated with Authlib's models."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata

from channels.encryption_keys import ID_TOKEN_ENCRYPTION_ALGS
from channels.encryption_keys import ID_TOKEN_ENCRYPTION_ENCS
from idp.oidc.claims import SUPPORTED_CLAIMS
from keys import SIGNING_ALGS

CLIENT_AUTH_METHODS = ["private_key_jwt", "client_secret_basic", "client_secret_post"]
#: RFC 8705 2: offered when a TLS proxy forwards client certificates.
MTLS_AUTH_METHODS = ["tls_client_auth", "self_signed_tls_client_auth"]


def provider_metadata(
    issuer: str, grant_types: list[str], scopes: list[str], *, mtls: bool = False
) -> dict[str, Any]:
    methods = CLIENT_AUTH_METHODS + (MTLS_AUTH_METHODS if mtls else [])
    metadata: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks.json",
        "introspection_endpoint": f"{issuer}/introspect",
        "revocation_endpoint": f"{issuer}/revoke",
        # RFC 9126 5: PAR, required per client (require_pushed_authorization_requests), not here
        "pushed_authorization_request_endpoint": f"{issuer}/par",
        "require_pushed_authorization_requests": False,
        "dpop_signing_alg_values_supported": ["ES256", "PS256", "EdDSA"],  # RFC 9449 5.1
        "end_session_endpoint": f"{issuer}/logout",  # OIDC RP-Initiated Logout 1.0 2.1
        # OIDC Back-Channel Logout 1.0 2.1: logout tokens always carry sid
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "registration_endpoint": f"{issuer}/register",  # RFC 8414 2, RFC 7591 3
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": grant_types,
        "subject_types_supported": ["pairwise", "public"],
        "id_token_signing_alg_values_supported": list(SIGNING_ALGS),
        # OIDC Discovery 3: per client (OIDC Registration 2), to a use=enc key in its jwks
        "id_token_encryption_alg_values_supported": list(ID_TOKEN_ENCRYPTION_ALGS),
        "id_token_encryption_enc_values_supported": list(ID_TOKEN_ENCRYPTION_ENCS),
        "token_endpoint_auth_methods_supported": methods,
        # RFC 8705 3.3: certificate-bound access tokens, when a proxy forwards certificates
        "tls_client_certificate_bound_access_tokens": mtls,
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "PS256", "EdDSA", "RS256"],
        "introspection_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_signing_alg_values_supported": [
            "ES256",
            "PS256",
            "EdDSA",
            "RS256",
        ],
        "revocation_endpoint_auth_methods_supported": methods,
        "revocation_endpoint_auth_signing_alg_values_supported": [
            "ES256",
            "PS256",
            "EdDSA",
            "RS256",
        ],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": SUPPORTED_CLAIMS,
        "claims_parameter_supported": True,
        # RFC 9101 10.5: request objects by value, pushed or not; request_uri only from PAR
        # (pushed_authorization_request_endpoint), never fetched, so by reference: no.
        "request_parameter_supported": True,
        "request_uri_parameter_supported": False,
        # idp.oauth.rfc9101_jar.ALGS (idp.oauth imports idp.oidc, so not imported here)
        "request_object_signing_alg_values_supported": ["ES256", "PS256", "EdDSA", "RS256"],
        "require_signed_request_object": False,  # per client (RFC 9101 10.5 client metadata)
        "authorization_response_iss_parameter_supported": True,
        # Weakest first, as idp.interaction.assurance.ACR_ORDER.
        "acr_values_supported": [
            "urn:essc:acr:card-pin",
            "urn:essc:acr:channel-realname",
            "urn:essc:acr:face",
        ],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "ui_locales_supported": ["zh-CN", "en"],
        "claim_types_supported": ["normal"],
    }
    return metadata


def validate_metadata(metadata: dict[str, Any]) -> None:
    """Fail closed at start-up if the document breaks RFC 8414 or OIDC Discovery rules."""
    AuthorizationServerMetadata(metadata).validate()
    OpenIDProviderMetadata(metadata).validate()
