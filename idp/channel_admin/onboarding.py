"""Dynamic registration (RFC 7591) and its management protocol (RFC 7592) for channels.

No Flask here: ``idp.channel_admin.views`` turns HTTP into these calls and their errors into
RFC 7591 3.2.2 / RFC 6750 3.1 answers. Every call runs in the caller's unit of work (one
transaction, never committed here); a refused request writes nothing, and the statement's
``jti`` is spent in the same transaction as the channel it creates. The registration access
token is returned once and stored as a keyed hash, like client secrets."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels import api_keys
from channels.api_keys import NativeApi
from channels.embedding import FIELD as EMBED_FIELD
from channels.registration import ClientMetadata
from channels.registration import InvalidClientMetadata
from channels.registry import ClientRegistry
from channels.registry import plausible_client_id
from channels.rfc7591 import FAPI2_FIELD
from channels.rfc7591 import client_metadata
from channels.software_statement import SoftwareStatement
from channels.software_statement import StatementError
from channels.software_statement import StatementVerifier
from channels.software_statement import statement_from_claims
from channels.software_statement import unapproved
from idp import errors
from idp.channel_admin.clients import add_client
from idp.channel_admin.clients import client_from_row
from idp.channel_admin.clients import set_native
from idp.channel_admin.status import children
from idp.events.audit import record_event
from idp.oauth import fapi2
from idp.oauth.tokens import new_secret
from idp.store.channels import ACTIVE
from idp.store.channels import DELETED
from idp.store.channels import PENDING
from idp.store.channels import ChannelRow
from idp.store.channels import registration_token_owner
from idp.store.security import ExpiringKey
from idp.store.unit_of_work import UnitOfWork

#: RFC 7592 2.2: updates are for channels in service or awaiting approval.
UPDATABLE = frozenset({PENDING, ACTIVE})


def oauth_error(exc: InvalidClientMetadata | StatementError) -> errors.OAuthError:
    """The RFC 7591 3.2.2 error for a refusal from the pure checks."""
    kinds: dict[str, type[errors.OAuthError]] = {
        "invalid_client_metadata": errors.InvalidClientMetadata,
        "invalid_redirect_uri": errors.InvalidRedirectUri,
        "invalid_software_statement": errors.InvalidSoftwareStatement,
        "unapproved_software_statement": errors.UnapprovedSoftwareStatement,
    }
    detail = exc.detail if isinstance(exc, StatementError) else exc.description
    return kinds[exc.error](exc.description, detail=detail)


class Onboarding:
    """RFC 7591 and RFC 7592 for channels (``Provider.onboarding``), with what they need: the
    software statement verifier, the client cache to forget, the keyed hashes of secrets and
    tokens, the clock, the issuer, and whether ``http://`` loopback URIs are allowed."""

    def __init__(
        self,
        *,
        verifier: StatementVerifier,
        clients: ClientRegistry,
        token_hash: Callable[[str], str],
        secret_hash: Callable[[str], str],
        clock: Callable[[], int],
        issuer: str,
        allow_http_loopback: bool,
    ) -> None:
        self._verifier = verifier
        self._clients = clients
        self._token_hash = token_hash
        self._secret_hash = secret_hash
        self._now = clock
        self._issuer = issuer
        self._allow_http_loopback = allow_http_loopback

    # -- RFC 7591 3.1 ----------------------------------------------------------------------
    def register(self, uow: UnitOfWork, body: dict[str, Any]) -> dict[str, Any]:
        """Create a pending channel; the response carries its secret and token, once."""
        try:
            statement = self._verifier.verify(body.get("software_statement"))
            s = uow.session
            metadata = self._metadata(body, statement, self._parent(s, statement, True), None)
            native = self._native(body, metadata)
            self._spend(s, statement)
            return self._create(uow, metadata, native, statement)
        except (InvalidClientMetadata, StatementError) as exc:
            raise oauth_error(exc) from None

    def _parent(
        self, s: Session, statement: SoftwareStatement, registering: bool
    ) -> ChannelRow | None:
        """A second tier's parent: an existing first-tier channel, active when registering."""
        if statement.parent_client_id is None:
            return None
        parent_id = statement.parent_client_id
        parent = s.get(ChannelRow, parent_id) if plausible_client_id(parent_id) else None
        if parent is None or parent.parent_client_id is not None:
            raise unapproved("the parent channel is not a first-tier channel")
        if registering and parent.status != ACTIVE:
            raise unapproved("the parent channel is not active")
        return parent

    def _metadata(
        self,
        body: dict[str, Any],
        statement: SoftwareStatement,
        parent: ChannelRow | None,
        current_fapi2: bool | None,
    ) -> ClientMetadata:
        """``current_fapi2``: the channel's stored switch on update, None on registration."""
        return client_metadata(
            body,
            statement,
            client_from_row(parent) if parent is not None else None,
            allow_http_loopback=self._allow_http_loopback,
            current_fapi2=current_fapi2,
        )

    def _native(self, body: dict[str, Any], metadata: ClientMetadata) -> NativeApi:
        """The ``essc_api_*`` and ``essc_notification_url`` members (``channels.api_keys``)."""
        return api_keys.from_body(
            body,
            kind=metadata.kind,
            now=self._now(),
            allow_http_loopback=self._allow_http_loopback,
        )

    def _spend(self, s: Session, statement: SoftwareStatement) -> None:
        """Single use: the primary key refuses a second insert (RFC 7591 2.3, ``jti``)."""
        s.add(ExpiringKey(key=f"software-statement:{statement.jti}", expires_at=statement.exp))
        try:
            s.flush()
        except IntegrityError:
            raise StatementError(
                "invalid_software_statement", "the software statement was already used"
            ) from None

    def _create(
        self,
        uow: UnitOfWork,
        metadata: ClientMetadata,
        native: NativeApi,
        statement: SoftwareStatement,
    ) -> dict[str, Any]:
        s = uow.session
        row, secret = add_client(
            s, metadata, self._secret_hash, now=self._now(), status=PENDING, native=native
        )
        token = new_secret()
        row.parent_client_id = statement.parent_client_id
        row.registration_token_hash = self._token_hash(token)
        row.software_statement = {"jwt": statement.jwt, "claims": statement.claims}
        s.flush()
        self._audit(
            uow,
            "channel.registered",
            row,
            software_id=statement.software_id,
            api_signature_scheme=native.scheme,
            api_key_serials=sorted(native.keys),
        )
        body = self.information(row)
        body["registration_access_token"] = token
        if secret is not None:
            body.update(client_secret=secret, client_secret_expires_at=0)
        return body

    # -- RFC 7592 2.1, 2.2, 2.3 ------------------------------------------------------------
    def read(self, uow: UnitOfWork, client_id: str, token: str) -> dict[str, Any]:
        return self.information(self._authorised(uow.session, client_id, token))

    def authenticate(self, uow: UnitOfWork, client_id: str, token: str) -> None:
        self._authorised(uow.session, client_id, token)

    def update(
        self, uow: UnitOfWork, client_id: str, token: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        s = uow.session
        try:
            row = self._authorised(s, client_id, token)
            if row.status not in UPDATABLE:
                raise errors.InsufficientScope("this channel may not be updated now")
            self._check_update_fields(row, body)
            stored = row.software_statement or {}
            statement = statement_from_claims(stored["jwt"], stored["claims"])
            parent = self._parent(s, statement, False)
            metadata = self._metadata(body, statement, parent, row.fapi2_security_profile)
            native = self._native(body, metadata)
            self._apply(row, metadata)
            self._apply_native(uow, row, native)
            self._audit(uow, "channel.updated", row)
        except (InvalidClientMetadata, StatementError) as exc:
            raise oauth_error(exc) from None
        uow.after_commit(partial(self._clients.forget, client_id))
        return self.information(row)

    def delete(self, uow: UnitOfWork, client_id: str, token: str) -> None:
        """Deactivate: the client id, secret and registration token stop working at once."""
        s = uow.session
        row = self._authorised(s, client_id, token)
        previous = row.status
        row.status, row.updated_at = DELETED, self._now()
        row.secret_hash = row.registration_token_hash = None
        self._audit(uow, "channel.deleted", row, from_status=previous)
        affected = [client_id, *children(s, client_id)]
        for stale in affected:  # its second-tier channels stop with it
            uow.after_commit(partial(self._clients.forget, stale))

    def _authorised(self, s: Session, client_id: str, token: str) -> ChannelRow:
        """RFC 7592 2: 401 for an unknown token, 403 for another channel's token."""
        hashed = self._token_hash(token)
        row = s.get(ChannelRow, client_id) if plausible_client_id(client_id) else None
        stored = row.registration_token_hash if row is not None else None
        if row is not None and stored is not None and hmac.compare_digest(stored, hashed):
            return row
        if registration_token_owner(s, hashed) is not None:
            raise errors.InsufficientScope("the token belongs to another client")
        raise errors.InvalidToken("the registration access token is invalid")

    def _check_update_fields(self, row: ChannelRow, body: dict[str, Any]) -> None:
        """RFC 7592 2.2: ``client_id`` must match; a ``client_secret`` sent must be current."""
        if body.get("client_id") != row.client_id:
            raise InvalidClientMetadata("invalid_client_metadata", "client_id must match")
        secret = body.get("client_secret")
        if secret is not None and not (
            isinstance(secret, str)
            and row.secret_hash is not None
            and hmac.compare_digest(row.secret_hash, self._secret_hash(secret))
        ):
            raise InvalidClientMetadata("invalid_client_metadata", "client_secret does not match")
        stored_jwt = (row.software_statement or {}).get("jwt")
        if body.get("software_statement", stored_jwt) != stored_jwt:
            raise StatementError(
                "invalid_software_statement", "the software statement cannot change"
            )

    def _apply(self, row: ChannelRow, metadata: ClientMetadata) -> None:
        metadata = fapi2.profiled(metadata)
        if metadata.token_endpoint_auth_method != row.token_endpoint_auth_method:
            raise InvalidClientMetadata(
                "invalid_client_metadata", "token_endpoint_auth_method cannot change"
            )
        row.name = metadata.name
        row.redirect_uris = list(metadata.redirect_uris)
        row.grant_types = list(metadata.grant_types)
        row.scopes = list(metadata.scopes)
        row.jwks, row.jwks_uri = metadata.jwks, metadata.jwks_uri
        row.sector_identifier = metadata.sector_identifier
        row.subject_type = metadata.subject_type
        row.id_token_signed_response_alg = metadata.id_token_signed_response_alg
        row.require_pushed_authorization_requests = metadata.require_pushed_authorization_requests
        row.dpop_bound_access_tokens = metadata.dpop_bound_access_tokens
        row.id_token_encrypted_response_alg = metadata.id_token_encrypted_response_alg
        row.id_token_encrypted_response_enc = metadata.id_token_encrypted_response_enc
        row.tls_client_auth_subject_dn = metadata.tls_client_auth_subject_dn
        row.tls_client_certificate_bound_access_tokens = (
            metadata.tls_client_certificate_bound_access_tokens
        )
        row.require_signed_request_object = metadata.require_signed_request_object
        row.fapi2_security_profile = metadata.fapi2_security_profile
        row.embed_origins = list(metadata.embed_origins)
        if metadata.fapi2_security_profile:  # RFC 7591 carries no rotation field of its own
            row.rotate_refresh_tokens = metadata.rotate_refresh_tokens
        row.post_logout_redirect_uris = list(metadata.post_logout_redirect_uris)
        row.backchannel_logout_uri = metadata.backchannel_logout_uri
        row.backchannel_logout_session_required = metadata.backchannel_logout_session_required
        row.updated_at = self._now()

    def _apply_native(self, uow: UnitOfWork, row: ChannelRow, native: NativeApi) -> None:
        """The scheme is how the channel authenticates, so it cannot change (as
        ``token_endpoint_auth_method``); a new key set is a rotation, audited, in force at once.

        No overlap is kept for keys left out: the channel chooses its own by sending old and
        new together first, and leaving a key out is how a leaked key is revoked.
        """
        current = api_keys.from_row(row.api_auth_scheme, row.api_keys, row.notification_url)
        if native.scheme != current.scheme:
            raise InvalidClientMetadata(
                "invalid_client_metadata", "essc_api_signature_scheme cannot change"
            )
        if dict(native.keys) != dict(current.keys):
            self._audit(
                uow,
                "channel.api_keys_rotated",
                row,
                added=sorted(native.keys.keys() - current.keys.keys()),
                removed=sorted(current.keys.keys() - native.keys.keys()),
                replaced=sorted(
                    k
                    for k in native.keys.keys() & current.keys.keys()
                    if native.keys[k] != current.keys[k]
                ),
            )
        set_native(row, native)

    # -- shared ----------------------------------------------------------------------------
    def information(self, row: ChannelRow) -> dict[str, Any]:
        """RFC 7591 3.2.1 client information response, plus RFC 7592 3 and essc_* fields."""
        statement = row.software_statement or {}
        body: dict[str, Any] = {
            "client_id": row.client_id,
            "client_id_issued_at": row.created_at,
            "client_name": row.name,
            "redirect_uris": row.redirect_uris,
            "grant_types": row.grant_types,
            "response_types": ["code"] if "authorization_code" in row.grant_types else [],
            "token_endpoint_auth_method": row.token_endpoint_auth_method,
            "scope": " ".join(row.scopes),
            "subject_type": row.subject_type,
            "id_token_signed_response_alg": row.id_token_signed_response_alg,
            "require_pushed_authorization_requests": row.require_pushed_authorization_requests,
            "dpop_bound_access_tokens": row.dpop_bound_access_tokens,
            "tls_client_certificate_bound_access_tokens": (
                row.tls_client_certificate_bound_access_tokens
            ),
            "require_signed_request_object": row.require_signed_request_object,
            FAPI2_FIELD: row.fapi2_security_profile,
            EMBED_FIELD: row.embed_origins,
            "post_logout_redirect_uris": row.post_logout_redirect_uris,
            "backchannel_logout_session_required": row.backchannel_logout_session_required,
            "registration_client_uri": f"{self._issuer}/register/{row.client_id}",
            "software_id": statement.get("claims", {}).get("software_id"),
            "software_statement": statement.get("jwt"),
            "essc_channel_kind": row.kind,
            "essc_status": row.status,
        }
        optional = (
            ("jwks", row.jwks),
            ("jwks_uri", row.jwks_uri),
            ("backchannel_logout_uri", row.backchannel_logout_uri),
            ("id_token_encrypted_response_alg", row.id_token_encrypted_response_alg),
            ("id_token_encrypted_response_enc", row.id_token_encrypted_response_enc),
            ("tls_client_auth_subject_dn", row.tls_client_auth_subject_dn),
        )
        for name, value in optional:
            if value is not None:
                body[name] = value
        if row.parent_client_id:
            body["essc_parent_client_id"] = row.parent_client_id
        native = api_keys.from_row(row.api_auth_scheme, row.api_keys, row.notification_url)
        body.update(native.metadata())
        return body

    def _audit(self, uow: UnitOfWork, event: str, row: ChannelRow, **detail: Any) -> None:
        record_event(
            uow.session,
            event,
            at=self._now(),
            actor=row.client_id,
            client_id=row.client_id,
            request_id=uow.request_id,
            status=row.status,
            **detail,
        )
