"""The provider: every collaborator the endpoints need, built once per process from settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

from channels.kinds import ALLOWED_SCOPES
from channels.registry import ClientRegistry
from idp.cardholders.pin import PinHasher
from idp.channel_admin.clients import SqlClientSource
from idp.oauth.access_tokens import AccessTokenVerifier
from idp.oauth.client_auth import ClientAuthenticator
from idp.oauth.client_keys import ClientKeyCache
from idp.oauth.grants import GrantRegistry
from idp.oauth.grants import TokenServices
from idp.oauth.grants.authorization_code import AuthorizationCodeGrant
from idp.oauth.grants.client_credentials import ClientCredentialsGrant
from idp.oauth.grants.refresh_token import RefreshTokenGrant
from idp.oauth.rfc7009 import Revocation
from idp.oauth.rfc7662 import Introspection
from idp.oauth.tokens import AccessTokenIssuer
from idp.oidc.discovery import provider_metadata
from idp.oidc.discovery import validate_metadata
from idp.oidc.id_token import IdTokenIssuer
from idp.qr.service import QrCodes
from idp.settings import Settings
from idp.store.database import Database
from idp.store.expiring import expiring_set
from idp.store.keystore import SqlKeyStore
from keys import InvalidSignature
from keys import KeyRing


class Provider:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        database: Database | None = None,
    ) -> None:
        settings.check()
        self.settings = settings
        self.issuer = settings.issuer
        self.clock = clock
        self.db = database or Database(settings.database_url)

    def now(self) -> int:
        return int(self.clock())

    @cached_property
    def keyring(self) -> KeyRing:
        return self.open_keyring(create=False)

    def open_keyring(self, *, create: bool) -> KeyRing:
        s = self.settings
        longest = max(s.id_token_ttl, s.access_token_ttl, s.client_credentials_ttl)
        return KeyRing.open(
            SqlKeyStore(self.db),
            s.key_passphrase,
            # A worker that has not reloaded yet signs with a just-retired key for up to
            # keyring_refresh_seconds, and verifiers accept exp + clock_skew: publish it that long.
            publish_retired_for=longest + s.keyring_refresh_seconds + s.clock_skew,
            refresh_seconds=s.keyring_refresh_seconds,
            clock=self.clock,
            create=create,
        )

    def sign(self, claims: dict[str, Any], alg: str, typ: str) -> str:
        return self.keyring.sign(claims, alg=alg, typ=typ)

    def token_hash(self, value: str) -> str:
        return self.keyring.keyed_hash("token", value)

    def secret_hash(self, value: str) -> str:
        return self.keyring.keyed_hash("client-secret", value)

    @cached_property
    def clients(self) -> ClientRegistry:
        return ClientRegistry(SqlClientSource(self.db), ttl=self.settings.client_cache_seconds)

    @cached_property
    def pin_hasher(self) -> PinHasher:
        return PinHasher(self.settings.pin_hash_memory_kib, self.settings.pin_hash_time_cost)

    @cached_property
    def token_services(self) -> TokenServices:
        s = self.settings
        return TokenServices(
            access_tokens=AccessTokenIssuer(
                self.sign,
                issuer=self.issuer,
                audience=self.issuer,
                alg=s.default_signing_alg,
                clock=self.clock,
            ),
            id_tokens=IdTokenIssuer(
                self.sign, issuer=self.issuer, ttl=s.id_token_ttl, clock=self.clock
            ),
            keyed_hash=lambda purpose, value: self.keyring.keyed_hash(purpose, value),
            clock=self.clock,
            access_token_ttl=s.access_token_ttl,
            client_credentials_ttl=s.client_credentials_ttl,
            refresh_token_ttl=s.refresh_token_ttl,
        )

    @cached_property
    def grants(self) -> GrantRegistry:
        services = self.token_services
        return GrantRegistry(
            [
                AuthorizationCodeGrant(services),
                RefreshTokenGrant(services),
                ClientCredentialsGrant(services),
            ]
        )

    @cached_property
    def authenticator(self) -> ClientAuthenticator:
        s = self.settings
        return ClientAuthenticator(
            self.clients,
            self.secret_hash,
            expiring_set(self.db, s.redis_url, "jti", self.clock),
            ClientKeyCache(),
            issuer=self.issuer,
            max_assertion_age=s.client_assertion_max_age,
            leeway=s.clock_skew,
            clock=self.clock,
        )

    @cached_property
    def access_token_verifier(self) -> AccessTokenVerifier:
        return AccessTokenVerifier(
            self.keyring.verify,
            expiring_set(self.db, self.settings.redis_url, "revoked-at", self.clock),
            issuer=self.issuer,
            audience=self.issuer,
            leeway=self.settings.clock_skew,
            invalid_signature=InvalidSignature,
        )

    @cached_property
    def introspection(self) -> Introspection:
        return Introspection(
            self.access_token_verifier, self.token_hash, self.token_services.subject, self.clock
        )

    @cached_property
    def revocation(self) -> Revocation:
        return Revocation(self.access_token_verifier, self.token_hash, self.clock)

    @cached_property
    def metadata(self) -> dict[str, Any]:
        scopes = sorted(set().union(*ALLOWED_SCOPES.values()))
        document = provider_metadata(self.issuer, self.grants.grant_types, scopes)
        validate_metadata(document)
        return document

    @cached_property
    def qr(self) -> QrCodes:
        """QR codes (idp/qr/): issuing, opening for redemption, the status list."""
        return QrCodes(
            self.keyring.qr, issuer=self.issuer, clock=self.clock, skew=self.settings.clock_skew
        )
