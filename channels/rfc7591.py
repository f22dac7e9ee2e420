"""Client metadata of a registration request (RFC 7591 2, 3.1) checked against its limits.

The request's JSON is read field by field with its type checked, the software statement's claims
take precedence (RFC 7591 2.3), and the result passes ``validate_metadata`` and then the limits:
the statement's scopes and grant types, and for a second-tier channel its parent's (essc-domain
1.2: a second-tier channel reuses part of its first-tier channel's powers). Pure.
"""

from __future__ import annotations

from typing import Any

from channels.client import Client
from channels.embedding import FIELD as EMBED_FIELD
from channels.kinds import FAPI2_KINDS
from channels.registration import ClientMetadata
from channels.registration import InvalidClientMetadata
from channels.registration import SecurityOptions
from channels.registration import validate_metadata
from channels.software_statement import SoftwareStatement

#: The FAPI 2.0 switch (docs/security-profile.md): a statement's claim, which a request may not
#: contradict. Without one the kinds that move money (``FAPI2_KINDS``) are held to it and only
#: the operator (the statement, ``essc channels statement --no-fapi2``) can take them off; other
#: kinds may ask for it. ``essc channels statement`` writes the claim for every kind.
FAPI2_FIELD = "essc_fapi2_security_profile"
#: RFC 7591 2: ``authorization_code`` and ``client_secret_basic`` when omitted.
DEFAULT_GRANT_TYPES = ["authorization_code"]
DEFAULT_AUTH_METHOD = "client_secret_basic"
#: Fields the server issues; a client may not send them (RFC 7592 2.2).
SERVER_FIELDS = (
    "registration_access_token",
    "registration_client_uri",
    "client_id_issued_at",
    "client_secret_expires_at",
)


def bad(description: str) -> InvalidClientMetadata:
    return InvalidClientMetadata("invalid_client_metadata", description)


def client_metadata(
    body: dict[str, Any],
    statement: SoftwareStatement,
    parent: Client | None,
    *,
    allow_http_loopback: bool,
    current_fapi2: bool | None = None,
) -> ClientMetadata:
    """RFC 7591 3.1 / RFC 7592 2.2: the metadata to store, or ``InvalidClientMetadata``.

    ``current_fapi2`` is the stored switch of a channel being updated (RFC 7592 2.2), which
    stands when the request leaves the field out."""
    _check_consistent(body, statement)
    grants = _str_list(body, "grant_types", DEFAULT_GRANT_TYPES, "invalid_client_metadata")
    _check_response_types(body, grants)
    metadata = validate_metadata(
        name=statement.client_name or _str(body, "client_name", ""),
        kind=statement.kind.value,
        grant_types=grants,
        auth_method=_str(body, "token_endpoint_auth_method", DEFAULT_AUTH_METHOD),
        redirect_uris=_str_list(body, "redirect_uris", [], "invalid_redirect_uri"),
        scopes=[_str(body, "scope", " ".join(sorted(statement.scopes)))],
        jwks=_object(body, "jwks"),
        jwks_uri=_optional_str(body, "jwks_uri"),
        subject_type=_str(body, "subject_type", "pairwise"),
        id_token_alg=_str(body, "id_token_signed_response_alg", "ES256"),
        require_par=_bool(body, "require_pushed_authorization_requests", False),
        dpop_bound=_bool(body, "dpop_bound_access_tokens", False),
        require_signed_request_object=_bool(body, "require_signed_request_object", False),
        fapi2=_fapi2(body, statement, current_fapi2),
        post_logout_redirect_uris=_str_list(
            body, "post_logout_redirect_uris", [], "invalid_redirect_uri"
        ),
        backchannel_logout_uri=_optional_str(body, "backchannel_logout_uri"),
        backchannel_logout_session_required=_bool(
            body, "backchannel_logout_session_required", False
        ),
        allow_http_loopback=allow_http_loopback,
        embed_origins=_str_list(body, EMBED_FIELD, [], "invalid_client_metadata"),
        security=SecurityOptions(
            id_token_encrypted_response_alg=_optional_str(body, "id_token_encrypted_response_alg"),
            id_token_encrypted_response_enc=_optional_str(body, "id_token_encrypted_response_enc"),
            tls_client_auth_subject_dn=_optional_str(body, "tls_client_auth_subject_dn"),
            tls_client_certificate_bound_access_tokens=_bool(
                body, "tls_client_certificate_bound_access_tokens", False
            ),
        ),
    )
    check_limits(metadata, statement, parent)
    return metadata


def check_limits(
    metadata: ClientMetadata, statement: SoftwareStatement, parent: Client | None
) -> None:
    """No more than the statement grants; a second tier no more than its parent holds."""
    if not set(metadata.scopes) <= statement.scopes:
        raise bad("scope exceeds the software statement")
    if not set(metadata.grant_types) <= statement.grant_types:
        raise bad("grant_types exceed the software statement")
    if parent is None:
        return
    if not set(metadata.scopes) <= parent.scopes:
        raise bad("a second-tier channel's scope must be within its parent's")
    if not set(metadata.grant_types) <= parent.grant_types:
        raise bad("a second-tier channel's grant_types must be within its parent's")


def _check_consistent(body: dict[str, Any], statement: SoftwareStatement) -> None:
    for field in SERVER_FIELDS:
        if field in body:
            raise bad("the request carries a field only the server sets")
    pinned: dict[str, object] = {
        "essc_channel_kind": statement.kind.value,
        "software_id": statement.software_id,
        "essc_parent_client_id": statement.parent_client_id,
    }
    if statement.fapi2 is not None:  # the operator chose the profile (RFC 7591 2.3)
        pinned[FAPI2_FIELD] = statement.fapi2
    for field, value in pinned.items():
        if field in body and body[field] != value:
            raise bad("the request contradicts the software statement")


def _fapi2(body: dict[str, Any], statement: SoftwareStatement, current: bool | None) -> bool:
    """The statement's choice; else the request's, which may not take a channel of a kind
    that moves money off the profile (only the operator may, in the statement); else the
    stored value on update, the kind's default on registration."""
    if statement.fapi2 is not None:
        return statement.fapi2
    default = statement.kind in FAPI2_KINDS if current is None else current
    asked = _bool(body, FAPI2_FIELD, default)
    if default and not asked and statement.kind in FAPI2_KINDS:
        raise bad(
            "this kind of channel is held to FAPI 2.0 unless its software statement says otherwise"
        )
    return asked


def _check_response_types(body: dict[str, Any], grants: list[str]) -> None:
    """RFC 7591 2.1: ``code`` goes with ``authorization_code``; nothing else is served."""
    default = ["code"] if "authorization_code" in grants else []
    types = set(_str_list(body, "response_types", default, "invalid_client_metadata"))
    if types != set(default):
        raise bad("response_types and grant_types do not match")


def _str(body: dict[str, Any], name: str, default: str) -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise bad("a metadata field has the wrong type")
    return value


def _bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise bad("a metadata field has the wrong type")
    return value


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    return None if value is None else _str(body, name, "")


def _object(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is not None and not isinstance(value, dict):
        raise bad("a metadata field has the wrong type")
    return value


def _str_list(body: dict[str, Any], name: str, default: list[str], error: str) -> list[str]:
    value = body.get(name, default)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidClientMetadata(error, f"{name} must be an array of strings")
    return value
