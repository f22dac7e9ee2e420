"""The provider: the one wiring place. Every service the views and the ``essc`` commands call is
built here, once per process, from settings, and handed only the collaborators it needs (a clock,
a keyed hash, a settings value), never the provider itself. Tests build services the same way:
they ask a ``Provider``. A request or a command opens one ``unit_of_work()`` at its edge and hands
it to the services, which never commit (``docs/architecture.md`` "Unit of work")."""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from channels.kinds import ALLOWED_SCOPES
from channels.registry import ClientRegistry
from channels.signing import OwnKey
from channels.signing.registry import platform_key_serials
from channels.software_statement import StatementVerifier
from channels.software_statement import trusted_keys
from idp.cardholders.pin import PinHasher
from idp.cardholders.service import Cardholders
from idp.cards.lifecycle import CardLifecycle
from idp.channel_admin.clients import SqlClientSource
from idp.channel_admin.onboarding import Onboarding
from idp.channel_admin.status import ChannelStatus
from idp.channel_signin.assertion import ChannelAssertionVerifier
from idp.channel_signin.signin import ChannelSignIns
from idp.demo.data import DemoData
from idp.ecards.channel_card_changes import ChannelCardChanges
from idp.ecards.service import ECardService
from idp.family.pension import Pension
from idp.family.service import Family
from idp.logout.backchannel import client_subject
from idp.logout.logout_token import LOGOUT_EVENT
from idp.logout.logout_token import LogoutRoute
from idp.notifications.backoff import Backoff
from idp.notifications.channel_signers import ChannelSigners
from idp.notifications.deliverer import Deliverer
from idp.notifications.deliverer import Policy
from idp.notifications.platform_keys import own_keys
from idp.notifications.transport import Transport
from idp.notifications.wiring import BASE_BACKOFF_SECONDS
from idp.notifications.wiring import stored_resource_key
from idp.oauth.access_tokens import AccessTokenVerifier
from idp.oauth.client_auth import ClientAuthenticator
from idp.oauth.client_keys import ClientKeyCache
from idp.oauth.grants import GrantRegistry
from idp.oauth.grants import TokenServices
from idp.oauth.grants.authorization_code import AuthorizationCodeGrant
from idp.oauth.grants.client_credentials import ClientCredentialsGrant
from idp.oauth.grants.refresh_token import RefreshTokenGrant
from idp.oauth.grants.token_exchange import TokenExchangeGrant
from idp.oauth.rfc7009 import Revocation
from idp.oauth.rfc7662 import Introspection
from idp.oauth.rfc9101_jar import RequestObjects
from idp.oauth.rfc9126_par import PushedRequests
from idp.oauth.rfc9449_dpop import DpopProofs
from idp.oauth.tokens import AccessTokenIssuer
from idp.oidc.discovery import provider_metadata
from idp.oidc.discovery import validate_metadata
from idp.oidc.id_token import IdTokenIssuer
from idp.qr.service import QrCodes
from idp.scan_signin.regions import NetworkRegions
from idp.scan_signin.service import ScanSignIns
from idp.settings import ConfigurationError
from idp.settings import Settings
from idp.store.database import Database
from idp.store.expiring import Nonces
from idp.store.expiring import expiring_set
from idp.store.keystore import SqlKeyStore
from idp.store.unit_of_work import UnitOfWork
from idp.store.unit_of_work import unit_of_work
from keys import InvalidSignature
from keys import KeyRing
from keys.vault import KeyVault

if TYPE_CHECKING:
    from idp.ratelimit import RateLimits


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
        # Read at start: a typo in the region table must stop the start, not the first scan.
        self.network_regions = _network_regions(settings.network_regions)
        self.issuer = settings.issuer
        self.clock = clock
        self.db = database or Database(settings.database_url)

    def now(self) -> int:
        return int(self.clock())

    @contextmanager
    def unit_of_work(self, request_id: str | None = None) -> Iterator[UnitOfWork]:
        """One request's or command's transaction (``Database.transaction()``): commit at the
        end, roll back on an exception unless it must keep its writes."""
        with unit_of_work(self.db, request_id) as uow:
            yield uow

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
            notification_schemes=platform_key_serials(),
            refresh_seconds=s.keyring_refresh_seconds,
            clock=self.clock,
            create=create,
            token=self._token_vault(),
        )

    def _token_vault(self) -> KeyVault | None:
        """The PKCS#11 token the signing keys live in (docs/operations.md), if configured."""
        s = self.settings
        if not s.pkcs11_module:
            return None
        from keys.hsm import TokenVault  # loads the PKCS#11 binding only when it is used

        return TokenVault(s.pkcs11_module, s.pkcs11_token_label, s.pkcs11_user_pin())

    def sign(self, claims: dict[str, Any], alg: str, typ: str) -> str:
        return self.keyring.sign(claims, alg=alg, typ=typ)

    def token_hash(self, value: str) -> str:
        return self.keyring.keyed_hash("token", value)

    def secret_hash(self, value: str) -> str:
        return self.keyring.keyed_hash("client-secret", value)

    # The key ring loads on first use, not when a service is built: services get these methods.
    def keyed_hash(self, purpose: str, value: str) -> str:
        return self.keyring.keyed_hash(purpose, value)

    def encrypt_field(self, plaintext: str, *, context: str) -> bytes:
        return self.keyring.encrypt_field(plaintext, context=context)

    def sign_credential(self, claims: dict[str, Any], typ: str) -> str:
        return self.keyring.sign(claims, alg=self.settings.default_signing_alg, typ=typ)

    @cached_property
    def rate_limits(self) -> RateLimits:
        from idp.ratelimit import RateLimits

        # The limits library keeps wall-clock windows: the injected clock does not apply.
        s = self.settings
        return RateLimits(s.rate_limit, s.redis_url, s.rate_limit_per_client)

    @cached_property
    def clients(self) -> ClientRegistry:
        return ClientRegistry(SqlClientSource(self.db), ttl=self.settings.client_cache_seconds)

    @cached_property
    def channel_nonces(self) -> Nonces:
        """The channels' native signature nonces, each accepted once (Redis or SQL)."""
        entries = expiring_set(
            self.db,
            self.settings.redis_url,
            "channel-nonce",
            self.clock,
            cluster=self.settings.redis_cluster,
        )
        return Nonces(entries, self.clock)

    @cached_property
    def platform_keys(self) -> dict[str, OwnKey]:
        """The platform's keys for the channel-native schemes (``essc init`` creates them)."""
        return own_keys(self.keyring)

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
                TokenExchangeGrant(services, self.access_token_verifier),
            ]
        )

    @cached_property
    def authenticator(self) -> ClientAuthenticator:
        s = self.settings
        return ClientAuthenticator(
            self.clients,
            self.secret_hash,
            expiring_set(self.db, s.redis_url, "jti", self.clock, cluster=s.redis_cluster),
            ClientKeyCache(),
            issuer=self.issuer,
            max_assertion_age=s.client_assertion_max_age,
            leeway=s.clock_skew,
            clock=self.clock,
        )

    @cached_property
    def channel_signin(self) -> ChannelSignIns:
        """``login_hint_token`` sign-in from /authorize (docs/channel-assertion.md)."""
        return ChannelSignIns(self.channel_assertions)

    @cached_property
    def scan_signin(self) -> ScanSignIns:
        """Scan-to-sign-in on the PC (docs/scan-signin.md)."""
        return ScanSignIns(self.channel_assertions, self.token_hash, regions=self.network_regions)

    @cached_property
    def channel_assertions(self) -> ChannelAssertionVerifier:
        s = self.settings
        return ChannelAssertionVerifier(
            self.issuer,
            self.clients.get,
            ClientKeyCache(),
            expiring_set(self.db, s.redis_url, "cha-jti", self.clock, cluster=s.redis_cluster),
            self.clock,
            leeway=s.clock_skew,
        )

    @cached_property
    def access_token_verifier(self) -> AccessTokenVerifier:
        return AccessTokenVerifier(
            self.keyring.verify,
            expiring_set(
                self.db,
                self.settings.redis_url,
                "revoked-at",
                self.clock,
                cluster=self.settings.redis_cluster,
            ),
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
    def pushed_requests(self) -> PushedRequests:
        return PushedRequests(
            self.settings.par_ttl,
            self.token_hash,
            self.now,
            request_objects=RequestObjects(
                self.issuer, ClientKeyCache(), clock=self.clock, leeway=self.settings.clock_skew
            ),
            find_client=self.clients.get,
        )

    @cached_property
    def dpop(self) -> DpopProofs:
        """RFC 9449 proofs at /token, /par and every resource; ``jti`` once (Redis or SQL)."""
        s = self.settings
        return DpopProofs(
            expiring_set(self.db, s.redis_url, "dpop-jti", self.clock, cluster=s.redis_cluster),
            max_age=s.dpop_proof_max_age,
            leeway=s.clock_skew,
            clock=self.clock,
            # The value is "dpop-nonce:<slot>": no token hash is ever of that form.
            nonce_key=self.token_hash if s.dpop_require_nonce else None,
            nonce_seconds=s.dpop_nonce_seconds,
        )

    @cached_property
    def revocation(self) -> Revocation:
        return Revocation(self.access_token_verifier, self.token_hash, self.clock)

    @cached_property
    def metadata(self) -> dict[str, Any]:
        scopes = sorted(set().union(*ALLOWED_SCOPES.values()))
        document = provider_metadata(
            self.issuer,
            self.grants.grant_types,
            scopes,
            mtls=bool(self.settings.tls_client_cert_header),
        )
        validate_metadata(document)
        return document

    # -- the product's services ------------------------------------------------------------
    @cached_property
    def cardholders(self) -> Cardholders:
        s = self.settings
        return Cardholders(
            keyed_hash=self.keyed_hash,
            encrypt_field=self.encrypt_field,
            hasher=self.pin_hasher,
            clock=self.now,
            max_failures=s.pin_max_failures,
            lockout_seconds=s.pin_lockout_seconds,
        )

    @cached_property
    def ecards(self) -> ECardService:
        return ECardService(
            cardholders=self.cardholders,
            sign=self.sign_credential,
            keyed_hash=self.keyed_hash,
            issuer=self.issuer,
            clock=self.now,
        )

    @cached_property
    def cards(self) -> CardLifecycle:
        return CardLifecycle(clock=self.now, suspension_seconds=self.settings.suspension_seconds)

    @cached_property
    def channel_card_changes(self) -> ChannelCardChanges:
        return ChannelCardChanges(ecards=self.ecards, cards=self.cards, clock=self.now)

    @cached_property
    def onboarding(self) -> Onboarding:
        s = self.settings
        return Onboarding(
            verifier=StatementVerifier(
                trusted_keys(s.onboarding_jwks),
                issuer=self.issuer,
                leeway=s.clock_skew,
                clock=self.clock,
            ),
            clients=self.clients,
            token_hash=self.token_hash,
            secret_hash=self.secret_hash,
            clock=self.now,
            issuer=self.issuer,
            allow_http_loopback=not s.production,
        )

    @cached_property
    def channel_status(self) -> ChannelStatus:
        return ChannelStatus(clients=self.clients, clock=self.now)

    @cached_property
    def demo_data(self) -> DemoData:
        return DemoData(
            cardholders=self.cardholders,
            secret_hash=self.secret_hash,
            clock=self.now,
            issuer=self.issuer,
            instance_dir=Path(self.settings.instance_dir),
        )

    def deliverer(self, transport: Transport) -> Deliverer:
        """The outbox deliverer ``essc notifications deliver`` runs: it signs with the key
        ring's platform keys for the channel-native schemes (``essc init`` creates them; a
        scheme without one fails with ``no platform key for <scheme>``) and encrypts a WeChat
        channel's resources with the APIv3 key the operator stored."""
        s = self.settings
        signers = ChannelSigners(
            sign_jwt=self.sign,
            issuer=self.issuer,
            clock=self.clock,
            own_keys=self.platform_keys,
            resource_key=stored_resource_key(self),
        )
        policy = Policy(
            max_attempts=s.notification_max_attempts,
            backoff=Backoff(BASE_BACKOFF_SECONDS, s.notification_max_backoff_seconds),
        )
        logout = LogoutRoute(
            self.sign, self.issuer, client_subject(self.clients.get, self.keyed_hash)
        )
        return Deliverer(
            self.db,
            signers=signers,
            transport=transport,
            clock=self.clock,
            policy=policy,
            routes={LOGOUT_EVENT: logout},
        )

    @cached_property
    def qr(self) -> QrCodes:
        """QR codes (idp/qr/): issuing, opening for redemption, the status list."""
        return QrCodes(
            self.keyring.qr,
            issuer=self.issuer,
            clock=self.clock,
            skew=self.settings.clock_skew,
            status_list_ttl=self.settings.qr_status_list_ttl,
        )

    @cached_property
    def family(self) -> Family:
        """Family proxy relationships (idp/family/, docs/family.md)."""
        s = self.settings
        return Family(
            cardholders=self.cardholders,
            assertions=self.channel_assertions,
            clock=self.now,
            max_agents=s.family_max_agents_per_principal,
            request_seconds=s.family_request_seconds,
        )

    @cached_property
    def pension(self) -> Pension:
        """Pension eligibility certification (idp/family/pension.py, docs/family.md)."""
        return Pension(
            assertions=self.channel_assertions,
            clock=self.now,
            face_max_age=self.settings.face_acr_max_age,
            due_days=self.settings.pension_due_days,
        )


def _network_regions(path: str) -> NetworkRegions:
    """``ESSC_NETWORK_REGIONS`` (idp.scan_signin.regions), or ConfigurationError naming it."""
    try:
        return NetworkRegions.load(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigurationError(f"ESSC_NETWORK_REGIONS: {exc}") from None
