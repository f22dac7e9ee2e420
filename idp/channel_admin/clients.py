"""Channels in the database: the registry's source, and registration for operators."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from channels.api_keys import NativeApi
from channels.client import Client
from channels.kinds import ChannelKind
from channels.registration import ClientMetadata
from idp.oauth import fapi2
from idp.oauth.tokens import new_secret
from idp.store.channels import ChannelRow
from idp.store.channels import effective_status
from idp.store.database import Database

SECRET_METHODS = ("client_secret_basic", "client_secret_post")


def client_from_row(row: ChannelRow, *, status: str | None = None) -> Client:
    return Client(
        client_id=row.client_id,
        name=row.name,
        kind=ChannelKind(row.kind),
        status=status or row.status,
        redirect_uris=tuple(row.redirect_uris),
        grant_types=frozenset(row.grant_types),
        scopes=frozenset(row.scopes),
        token_endpoint_auth_method=row.token_endpoint_auth_method,
        secret_hash=row.secret_hash,
        jwks=row.jwks,
        jwks_uri=row.jwks_uri,
        sector_identifier=row.sector_identifier,
        subject_type=row.subject_type,
        id_token_signed_response_alg=row.id_token_signed_response_alg,
        rotate_refresh_tokens=row.rotate_refresh_tokens,
        require_pushed_authorization_requests=row.require_pushed_authorization_requests,
        dpop_bound_access_tokens=row.dpop_bound_access_tokens,
        id_token_encrypted_response_alg=row.id_token_encrypted_response_alg,
        id_token_encrypted_response_enc=row.id_token_encrypted_response_enc,
        tls_client_auth_subject_dn=row.tls_client_auth_subject_dn,
        tls_client_certificate_bound_access_tokens=row.tls_client_certificate_bound_access_tokens,
        require_signed_request_object=row.require_signed_request_object,
        fapi2_security_profile=row.fapi2_security_profile,
        embed_origins=tuple(row.embed_origins or ()),
        post_logout_redirect_uris=tuple(row.post_logout_redirect_uris or ()),
        backchannel_logout_uri=row.backchannel_logout_uri,
        backchannel_logout_session_required=row.backchannel_logout_session_required,
    )


class SqlClientSource:
    def __init__(self, db: Database) -> None:
        self._db = db

    def load_client(self, client_id: str) -> Client | None:
        """A second-tier channel whose parent is not active is not active either."""
        with self._db.read() as s:
            row = s.get(ChannelRow, client_id)
            return client_from_row(row, status=effective_status(s, row)) if row else None


def add_client(
    session: Session,
    metadata: ClientMetadata,
    hash_secret: Any,
    *,
    now: int,
    status: str = "active",
    native: NativeApi | None = None,
) -> tuple[ChannelRow, str | None]:
    """Store a channel; returns the row and the client secret (shown once, stored hashed).

    ``native`` (checked by ``channels.api_keys``) sets its signature scheme, keys and
    notification URL in the same insert.
    """
    metadata = fapi2.profiled(metadata)  # raises InvalidClientMetadata for what it forbids
    secret = new_secret() if metadata.token_endpoint_auth_method in SECRET_METHODS else None
    row = ChannelRow(
        client_id=f"{metadata.kind.value}-{secrets.token_hex(8)}",
        name=metadata.name,
        kind=metadata.kind.value,
        status=status,
        redirect_uris=list(metadata.redirect_uris),
        grant_types=list(metadata.grant_types),
        scopes=list(metadata.scopes),
        token_endpoint_auth_method=metadata.token_endpoint_auth_method,
        secret_hash=hash_secret(secret) if secret else None,
        jwks=metadata.jwks,
        jwks_uri=metadata.jwks_uri,
        sector_identifier=metadata.sector_identifier,
        subject_type=metadata.subject_type,
        id_token_signed_response_alg=metadata.id_token_signed_response_alg,
        rotate_refresh_tokens=metadata.rotate_refresh_tokens,
        require_pushed_authorization_requests=metadata.require_pushed_authorization_requests,
        dpop_bound_access_tokens=metadata.dpop_bound_access_tokens,
        id_token_encrypted_response_alg=metadata.id_token_encrypted_response_alg,
        id_token_encrypted_response_enc=metadata.id_token_encrypted_response_enc,
        tls_client_auth_subject_dn=metadata.tls_client_auth_subject_dn,
        tls_client_certificate_bound_access_tokens=metadata.tls_client_certificate_bound_access_tokens,
        require_signed_request_object=metadata.require_signed_request_object,
        fapi2_security_profile=metadata.fapi2_security_profile,
        embed_origins=list(metadata.embed_origins),
        post_logout_redirect_uris=list(metadata.post_logout_redirect_uris),
        backchannel_logout_uri=metadata.backchannel_logout_uri,
        backchannel_logout_session_required=metadata.backchannel_logout_session_required,
        created_at=now,
        updated_at=now,
    )
    if native is not None:
        set_native(row, native)
    session.add(row)
    return row, secret


def set_native(row: ChannelRow, native: NativeApi) -> None:
    """Store what ``channels.api_keys`` accepted; a channel without a native scheme keeps its own
    ``api_auth_scheme`` (``tls_client_auth``, say)."""
    if native.scheme is not None:
        row.api_auth_scheme, row.api_keys = native.scheme, dict(native.keys)
    row.notification_url = native.notification_url
