"""Channels: every OAuth client of the platform (WeChat, Alipay, banks, portals, merchants)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy import BigInteger
from sqlalchemy import Boolean
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import Session
from sqlalchemy.orm import mapped_column

from idp.store.base import Base

#: Channel statuses the status rules below read (the transitions: ``idp.channel_admin.status``).
ACTIVE = "active"
PENDING = "pending"
DELETED = "deleted"


class ChannelRow(Base):
    __tablename__ = "channels"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(String(512))
    sector_identifier: Mapped[str] = mapped_column(String(255))
    subject_type: Mapped[str] = mapped_column(String(16), default="pairwise")
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(16), default="ES256")
    rotate_refresh_tokens: Mapped[bool] = mapped_column(Boolean, default=True)
    #: RFC 9126 6 client metadata.
    require_pushed_authorization_requests: Mapped[bool] = mapped_column(Boolean, default=False)
    #: RFC 9449 5.2 client metadata.
    dpop_bound_access_tokens: Mapped[bool] = mapped_column(Boolean, default=False)
    #: OIDC Registration 2 client metadata: ID tokens encrypted to the client's enc key.
    id_token_encrypted_response_alg: Mapped[str | None] = mapped_column(String(32))
    id_token_encrypted_response_enc: Mapped[str | None] = mapped_column(String(32))
    #: RFC 8705 2.1.2 and 3.4 client metadata.
    tls_client_auth_subject_dn: Mapped[str | None] = mapped_column(String(512))
    tls_client_certificate_bound_access_tokens: Mapped[bool] = mapped_column(Boolean, default=False)
    #: RFC 9101 10.5 client metadata.
    require_signed_request_object: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The FAPI 2.0 Security Profile (idp.oauth.fapi2).
    fapi2_security_profile: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ``essc_embed_origins`` (channels.embedding): frame-ancestors of its sign-in pages.
    embed_origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: OIDC RP-Initiated Logout 1.0 3.1 client metadata.
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: OIDC Back-Channel Logout 1.0 2.2 client metadata.
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(512))
    backchannel_logout_session_required: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_client_id: Mapped[str | None] = mapped_column(String(64))
    #: RFC 7592: the registration access token, stored as a keyed hash; indexed (unique), as a
    #: token presented for another client is found by it (RFC 7592 2: 403, not 401).
    registration_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    #: Verified claims of the operator-signed software statement (RFC 7591 2.3).
    software_statement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The channel's native server-to-server scheme (channels/signing): alipay-rsa2,
    #: alipay-v3, wechatpay-v3, unionpay, private_key_jwt or tls_client_auth.
    api_auth_scheme: Mapped[str | None] = mapped_column(String(32))
    #: The channel's public keys for its native scheme: {serial or cert id: PEM}.
    api_keys: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: Where status notifications go, and the scheme they are signed with.
    notification_url: Mapped[str | None] = mapped_column(String(512))
    #: A wechatpay-v3 channel's APIv3 key for encrypted notification resources, encrypted with
    #: ``KeyRing.encrypt_field`` (``idp.channel_admin.channel_notification_key``); None: plain
    #: resources.
    notification_key_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: RFC 8705 2.1.2: SHA-256 thumbprint of the client certificate for tls_client_auth.
    tls_client_thumbprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


def registration_token_owner(session: Session, token_hash: str) -> str | None:
    """The channel holding this RFC 7592 registration access token (by its keyed hash): one
    look-up in the unique index ``ix_channels_registration_token_hash``, never a scan."""
    return session.scalar(
        select(ChannelRow.client_id).where(ChannelRow.registration_token_hash == token_hash)
    )


def effective_status(session: Session, row: ChannelRow) -> str:
    """``row.status``, or ``parent-<status>`` when a second tier's parent is not active."""
    if row.status != ACTIVE or row.parent_client_id is None:
        return row.status
    parent = session.get(ChannelRow, row.parent_client_id)
    parent_status = parent.status if parent is not None else DELETED
    return ACTIVE if parent_status == ACTIVE else f"parent-{parent_status}"


def usable(session: Session, row: ChannelRow | None) -> bool:
    return row is not None and effective_status(session, row) == ACTIVE


def client_usable(session: Session, client_id: str) -> bool:
    """Read from the database in the caller's transaction, never from the client registry's
    cache: a suspension committed by the CLI in another process counts at the next request."""
    if not 0 < len(client_id) <= 64:
        return False
    return usable(session, session.get(ChannelRow, client_id))
